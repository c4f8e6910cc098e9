import { redactDeep, redactSecrets } from '../db/url.js';

/**
 * Everything the CLI prints goes through here. Results go to stdout (one JSON
 * document with --json); progress, warnings and errors go to stderr. Spinners and
 * colour only on a TTY without NO_COLOR/--no-color; plain lines otherwise, because
 * cron and CI read them. Every line is passed through redactSecrets.
 */
export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
  debug?: boolean;
}

export interface Step {
  done(detail?: string): void;
  fail(detail?: string): void;
  /** Stops the animation (e.g. before a prompt); done/fail still print the last line. */
  pause(): void;
  /** What is at hand now (the task and table, bytes written): the spinner's text on a TTY, otherwise a line of its own, timestamped. */
  update(detail: string): void;
}

type Paint = (s: string) => string;
const plain: Paint = (s) => s;

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  readonly interactive: boolean;
  readonly color: boolean;
  private paint: { red: Paint; yellow: Paint; green: Paint; dim: Paint; bold: Paint } = { red: plain, yellow: plain, green: plain, dim: plain, bold: plain };

  constructor(options: OutputOptions, private readonly stdout = process.stdout, private readonly stderr = process.stderr) {
    this.json = Boolean(options.json);
    this.quiet = Boolean(options.quiet);
    this.debug = Boolean(options.debug);
    this.interactive = Boolean(stderr.isTTY) && !this.json;
    this.color = options.color !== false && !process.env.NO_COLOR && Boolean(stdout.isTTY);
  }

  /** Loads chalk only when colour is on (keeps --help and cron runs lean). */
  async init(): Promise<void> {
    if (!this.color) return;
    const { Chalk } = await import('chalk');
    const c = new Chalk({ level: 1 });
    this.paint = { red: c.red, yellow: c.yellow, green: c.green, dim: c.dim, bold: c.bold };
  }

  /** Progress on stderr (suppressed by --quiet). */
  info(message: string): void {
    if (!this.quiet) this.stderr.write(`${redactSecrets(message)}\n`);
  }

  warn(message: string): void {
    this.stderr.write(`${this.paint.yellow('warning:')} ${redactSecrets(message)}\n`);
  }

  error(message: string, hint?: string): void {
    this.stderr.write(`${this.paint.red('error:')} ${redactSecrets(message)}\n`);
    if (hint) this.stderr.write(`${this.paint.dim('hint:')} ${redactSecrets(hint)}\n`);
  }

  debugLog(message: string): void {
    if (this.debug) this.stderr.write(`${this.paint.dim(`debug: ${redactSecrets(message)}`)}\n`);
  }

  /** A result line on stdout (text mode only). */
  print(text: string): void {
    if (!this.json) this.stdout.write(`${redactSecrets(text)}\n`);
  }

  /** Prints text that may legitimately hold a secret (only `local url`). */
  printSecret(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  /** The one JSON document of a --json run. */
  printJson(doc: unknown): void {
    // Every string is redacted on its own, so the document stays valid JSON.
    this.stdout.write(`${JSON.stringify(redactDeep(JSON.parse(JSON.stringify(doc, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))), null, 2)}\n`);
  }

  /** Prints `doc` as JSON with --json, else the text the renderer makes. */
  async result(doc: unknown, render: () => string | Promise<string>): Promise<void> {
    if (this.json) this.printJson(doc);
    else {
      const text = await render();
      if (text) this.print(text);
    }
  }

  /** A spinner on a TTY; otherwise one plain line when done. */
  async step(text: string): Promise<Step> {
    if (this.quiet) return { done: () => undefined, fail: () => undefined, pause: () => undefined, update: () => undefined };
    // A terminal that reports no width (e.g. under `script`) would make ora clear
    // an unbounded number of lines: plain lines there.
    const columns = (this.stderr as NodeJS.WriteStream).columns ?? 0;
    if (this.interactive && this.color && columns >= 20) {
      const { default: ora } = await import('ora');
      const spinner = ora({ text, stream: this.stderr }).start();
      return {
        done: (detail) => spinner.succeed(detail ? `${text}: ${detail}` : text),
        fail: (detail) => spinner.fail(detail ? `${text}: ${detail}` : text),
        pause: () => spinner.stop(),
        update: (detail) => { spinner.text = redactSecrets(`${text}: ${detail}`); },
      };
    }
    const t = Date.now();
    return {
      done: (detail) => this.info(`${text}${detail ? `: ${detail}` : ''} (${Date.now() - t} ms)`),
      fail: (detail) => this.info(`${text}: failed${detail ? ` (${detail})` : ''}`),
      pause: () => undefined,
      update: (detail) => this.info(`${new Date().toISOString()} ${detail}`),
    };
  }
}

/** A cli-table3 table; borders uncoloured so NO_COLOR output stays plain. */
export async function renderTable(head: string[], rows: (string | number | null | undefined)[][]): Promise<string> {
  const { default: Table } = await import('cli-table3');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : String(c))));
  return table.toString();
}
