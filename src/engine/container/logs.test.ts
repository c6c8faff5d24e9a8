import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { followLog, readLog } from "./log-reader.ts";
import { linesInWindow, LogParser, logRuns, LogTail, parseLog, selectLines, type LogBatch, type LogRun } from "./logs.ts";

const utf8 = new TextEncoder();
const text = (runs: LogRun[]) => runs.map((r) => `${r.fd}:${new TextDecoder().decode(r.bytes)}`);
/** each line of the runs, after its fd */
const linesOf = (runs: LogRun[]) => runs.flatMap((r) => new TextDecoder().decode(r.bytes).split(/(?<=\n)/).map((l) => `${r.fd}:${l}`));

// stdout and stderr interleaved, a stderr line in three partial chunks that a stdout line cuts, an empty line, multi-byte text
const LOG = [
  "2026-12-06T10:00:00.100000000+00:00 stdout F one",
  "2026-12-06T10:00:00.200000000+00:00 stdout F two",
  "2026-12-06T10:00:01.000000000+00:00 stderr P pa",
  "2026-12-06T10:00:01.050000000+00:00 stderr P r",
  "2026-12-06T10:00:01.100000000+00:00 stdout F three",
  "2026-12-06T10:00:01.200000000+00:00 stderr F tial",
  "2026-12-06T10:00:02.000000000+00:00 stderr F oops",
  "2026-12-06T10:00:02.500000000+00:00 stdout F ",
  "2026-12-06T10:00:03.000000000+00:00 stdout F grüße",
  "",
].join("\n");

describe("the k8s-file parser on bytes", () => {
  test("consecutive lines of one stream are one write; a stream change starts the next; joined partial lines print when they end", () => {
    expect(text(logRuns(new LogParser().parse(utf8.encode(LOG))))).toEqual(["1:one\ntwo\nthree\n", "2:partial\noops\n", "1:\ngrüße\n"]);
  });
  test("cut between any two lines (a chunked read, logs -f), the output is the same", () => {
    const bytes = utf8.encode(LOG);
    for (let cut = bytes.indexOf(10) + 1; cut < bytes.length; cut = bytes.indexOf(10, cut) + 1) {
      const p = new LogParser();
      const out = [...logRuns(p.parse(bytes.slice(0, cut))), ...logRuns(p.parse(bytes.slice(cut)))];
      expect(linesOf(out)).toEqual(linesOf(logRuns(new LogParser().parse(bytes.slice()))));
    }
  });
  test("times of another width between lines of one width (the fields are found again), a partial and stderr among them", () => {
    const t = (frac: string) => `2026-12-06T10:00:00.${frac}+00:00`;
    const log = [`${t("100000000")} stdout F a`, `${t("1")} stdout F b`, `${t("1")} stderr P c`, `${t("100000000")} stderr F d`, `${t("100000000")} stdout F e f`, `${t("1")}  F g`, `${t("100000000")} stdout F h`, ""].join("\n");
    expect(linesOf(logRuns(new LogParser().parse(utf8.encode(log))))).toEqual(["1:a\n", "1:b\n", "2:cd\n", "1:e f\n", "1:g\n", "1:h\n"]);
  });
  test("an unfinished last line is left for the next read; a line without its fields is skipped", () => {
    const b = new LogParser().parse(utf8.encode("garbage\n2026-12-06T10:00:00.1+00:00 stdout F a\n2026-12-06T10:00:00.2+00:00 stdout F b"));
    expect(text(logRuns(b))).toEqual(["1:a\n"]);
  });
  test("flush: the partial lines the log ends with, oldest first, without a newline (a last printf abc), -t and times too", () => {
    const ends = [
      "2026-12-06T10:00:00.100000000+00:00 stdout F one",
      "2026-12-06T10:00:00.200000000+00:00 stderr P de",
      "2026-12-06T10:00:00.300000000+00:00 stdout P ab",
      "2026-12-06T10:00:00.400000000+00:00 stdout P c",
      "2026-12-06T10:00:00.500000000+00:00 stderr P f",
      "",
    ].join("\n");
    const p = new LogParser();
    expect(text(logRuns(p.parse(utf8.encode(ends))))).toEqual(["1:one\n"]);
    expect(text(logRuns(p.flush()))).toEqual(["2:def", "1:abc"]);
    expect(text(logRuns(p.flush()))).toEqual([]);
    const t = new LogParser({ timestamps: true });
    t.parse(utf8.encode(ends));
    const flushed = t.flush();
    expect(text(logRuns(flushed))).toEqual(["2:2026-12-06T10:00:00.200000000Z def", "1:2026-12-06T10:00:00.300000000Z abc"]);
    expect(flushed.times).toEqual(["2026-12-06T10:00:00.200000000+00:00", "2026-12-06T10:00:00.300000000+00:00"]);
  });
  test("streamPartials: each chunk as it comes, a partial one without the record's newline; the bytes are the program's own", () => {
    const p = new LogParser({ streamPartials: true });
    const out = logRuns(p.parse(utf8.encode(LOG)));
    expect(text(out)).toEqual(["1:one\ntwo\n", "2:par", "1:three\n", "2:tial\noops\n", "1:\ngrüße\n"]);
    expect(text(logRuns(p.flush()))).toEqual([]);
    // a prompt waiting for input is printed before its line ends
    expect(text(logRuns(new LogParser({ streamPartials: true }).parse(utf8.encode("2026-12-06T10:00:00.1+00:00 stdout P name: \n"))))).toEqual(["1:name: "]);
  });
  test("-t: docker's time first (Z for +00:00), a joined line with its first chunk's time", () => {
    const b = new LogParser({ timestamps: true }).parse(utf8.encode(LOG));
    expect(text(logRuns(b))[1]).toBe("2:2026-12-06T10:00:01.000000000Z partial\n2026-12-06T10:00:02.000000000Z oops\n");
  });
  test("--since/--until pick lines by time (a run breaks where a line is left out); the line view agrees", () => {
    const b = new LogParser({ times: true }).parse(utf8.encode(LOG));
    const o = { sinceMs: Date.parse("2026-12-06T10:00:00.150Z"), untilMs: Date.parse("2026-12-06T10:00:02Z") };
    expect(text(logRuns(b, linesInWindow(b, o)))).toEqual(["1:two\nthree\n", "2:partial\noops\n"]);
    expect(selectLines(parseLog(LOG), o).map((l) => l.text)).toEqual(["two\n", "three\n", "partial\n", "oops\n"]);
    expect(linesInWindow(b, {})).toBeUndefined();
  });
  test("--tail over batches read one after another", () => {
    const lines = LOG.split("\n").slice(0, -1).map((l) => `${l}\n`);
    const batches: LogBatch[] = [];
    const p = new LogParser();
    for (let i = 0; i < lines.length; i += 3) batches.push(p.parse(utf8.encode(lines.slice(i, i + 3).join(""))));
    for (const n of [0, 1, 2, 3, 4, 6, 7, 100]) {
      const tail = new LogTail(n);
      for (const b of batches) tail.add(b);
      const want = selectLines(parseLog(LOG), { tail: n }).map((l) => `${l.stream === "stderr" ? 2 : 1}:${l.text}`);
      expect(linesOf(tail.runs())).toEqual(want);
    }
  });
});

describe("reading the log file", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(`${tmpdir()}/berth-logs-test-`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const collect = (path: string, parser = new LogParser()) => {
    const out: string[] = [];
    const at = readLog(path, parser, (b) => out.push(...text(logRuns(b))));
    return { at: at.offset, out: out.map((t) => t.slice(2)).join("") };
  };
  const rec = (t: string, tag = "F") => `2026-12-06T10:00:00.000000001Z stdout ${tag} ${t}\n`;

  test("to the last complete line; none yet is nothing", () => {
    const path = `${dir}/ctr.log`;
    expect(collect(path)).toEqual({ at: 0, out: "" });
    writeFileSync(path, "2026-12-06T10:00:00.1+00:00 stdout F a\n2026-12-06T10:00:00.2+00:00 stdout F b");
    expect(collect(path)).toEqual({ at: 39, out: "a\n" });
    appendFileSync(path, "\n");
    expect(collect(path).out).toBe("a\nb\n");
  });
  test("rotated files oldest first (ctr.log.2, .1, then ctr.log), a partial line joined across a rotation", () => {
    const path = `${dir}/rot.log`;
    writeFileSync(`${path}.2`, rec("one") + rec("tw", "P"));
    writeFileSync(`${path}.1`, rec("o") + rec("three"));
    writeFileSync(path, rec("four"));
    expect(collect(path).out).toBe("one\ntwo\nthree\nfour\n");
  });
  test("a follower goes on across rotations: the rest of its file, then each newer one; every line once", async () => {
    const path = `${dir}/follow.log`;
    writeFileSync(path, rec("a"));
    const parser = new LogParser();
    const out: string[] = [];
    const position = readLog(path, parser, (b) => out.push(...text(logRuns(b))));
    const steps = [
      () => appendFileSync(path, rec("b")),
      // two rotations between the follower's looks, as the monitor makes them (max-file 3)
      () => {
        appendFileSync(path, rec("c"));
        renameSync(path, `${path}.1`);
        writeFileSync(path, rec("d"));
        renameSync(`${path}.1`, `${path}.2`);
        renameSync(path, `${path}.1`);
        writeFileSync(path, rec("e"));
      },
      () => appendFileSync(path, rec("f")),
    ];
    let looks = 0;
    await followLog(path, position, parser, (b) => out.push(...text(logRuns(b))), () => {
      steps[looks]?.();
      return ++looks > steps.length;
    }, () => Bun.sleep(1));
    expect(out.map((t) => t.slice(2)).join("")).toBe("a\nb\nc\nd\ne\nf\n");
  });
  test("a log larger than the 1 MiB chunk, with a line longer than it", () => {
    const path = `${dir}/big.log`;
    const long = "x".repeat(3 << 20);
    const lines = Array.from({ length: 40_000 }, (_, i) => `2026-12-06T10:00:00.000000000+00:00 stdout F line ${i}\n`);
    writeFileSync(path, `${lines.join("")}2026-12-06T10:00:00.000000000+00:00 stdout F ${long}\n${lines.slice(0, 10).join("")}`);
    const { out } = collect(path);
    const want = `${Array.from({ length: 40_000 }, (_, i) => `line ${i}\n`).join("")}${long}\n${Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join("")}`;
    expect(out.length).toBe(want.length);
    expect(out === want).toBe(true);
  });
});
