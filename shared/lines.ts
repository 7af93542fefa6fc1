/**
 * The one splitter for newline-delimited text: the control socket (daemon and ctl) and the
 * child's stdout/stderr capture use it. A line longer than `maxLineLength` characters is never
 * buffered whole: `split` hands it on in pieces (log capture), `discard` drops it up to its
 * newline and reports it once (a protocol, where a piece of a line means nothing).
 */
export interface LineSplitterOptions {
  maxLineLength: number;
  overflow: 'split' | 'discard';
  onLine: (line: string) => void;
  /** Called once per over-long line in `discard` mode. */
  onOverflow?: () => void;
}

export class LineSplitter {
  private buf = '';
  private discarding = false;

  constructor(private readonly options: LineSplitterOptions) {}

  push(chunk: string): void {
    const { maxLineLength, overflow, onLine, onOverflow } = this.options;
    let start = 0;
    let i: number;
    while ((i = chunk.indexOf('\n', start)) >= 0) {
      const piece = chunk.slice(start, i);
      start = i + 1;
      if (this.discarding) {
        this.discarding = false;
        this.buf = '';
        continue;
      }
      const line = this.buf === '' ? piece : this.buf + piece;
      this.buf = '';
      if (line.length > maxLineLength && overflow === 'discard') {
        onOverflow?.();
        continue;
      }
      onLine(line);
    }
    if (this.discarding) return;
    this.buf += chunk.slice(start);
    if (this.buf.length <= maxLineLength) return;
    if (overflow === 'split') {
      onLine(this.buf);
      this.buf = '';
      return;
    }
    this.buf = '';
    this.discarding = true;
    onOverflow?.();
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    const rest = this.buf;
    this.buf = '';
    if (!this.discarding && rest !== '') this.options.onLine(rest);
    this.discarding = false;
  }
}
