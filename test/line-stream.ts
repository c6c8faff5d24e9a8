/**
 * Lines of a long-running command's output as they come (`berth events`, `berth
 * metrics`), for tests that act and then wait for the line their action causes.
 */
export class LineStream {
  readonly lines: string[] = [];
  /** what came after the last newline so far (a prompt waiting for input) */
  partial = "";
  /** resolves when the stream has ended and every line is in `lines` */
  readonly ended: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.ended = this.pump(stream.getReader());
  }

  private async pump(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }): Promise<void> {
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      this.partial += decoder.decode(value, { stream: true });
      const parts = this.partial.split("\n");
      this.partial = parts.pop()!;
      this.lines.push(...parts);
    }
  }
}
