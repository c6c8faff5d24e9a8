/** Where `load -i` and `import` read from: a file, or stdin for "-" / no file. */
import { BerthError } from "../../errors.ts";
import { pathExists, statPath } from "../../sys/libc.ts";
import { fileStream, stdinStream } from "../../sys/file-stream.ts";

export function inputStream(file: string | undefined, flag: string): { stream: ReadableStream<Uint8Array>; what: string } {
  if (file === undefined || file === "-") return { stream: stdinStream(), what: "stdin" };
  if (!pathExists(file)) throw new BerthError(`${file} does not exist; give the path of an image archive`, { field: flag });
  if (statPath(file).isDirectory) throw new BerthError(`${file} is a directory; give the path of an image archive (a tar)`, { field: flag });
  return { stream: fileStream(file), what: file };
}
