import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { alignColumns, goString, parseTemplate, renderGoTemplate } from "./template.ts";

const FIELDS = ["Name", "CPUPerc", "PIDs"];

describe("parseTemplate", () => {
  test("fields, literal text, and \\t written as two characters (as a shell passes it)", () => {
    const t = parseTemplate("{{.Name}}\\t{{ .CPUPerc }} ({{.PIDs}} tasks)", FIELDS);
    expect(t.table).toBe(false);
    expect(t.render({ Name: "web", CPUPerc: "1.00%", PIDs: "3" })).toBe("web\t1.00% (3 tasks)");
  });
  test("table: a header row of the fields' headings", () => {
    const t = parseTemplate("table {{.Name}}\\t{{.CPUPerc}}", FIELDS);
    expect(t.table).toBe(true);
    expect(t.header({ Name: "NAME", CPUPerc: "CPU %" })).toBe("NAME\tCPU %");
    expect(t.header({})).toBe("NAME\tCPUPERC");
  });
  test("{{json .}} prints the record given, else the fields", () => {
    const t = parseTemplate("{{json .}}", FIELDS);
    expect(t.json).toBe(true);
    expect(parseTemplate("table {{.Name}}", FIELDS).json).toBe(false);
    expect(t.render({ Name: "web" }, { name: "web", cpu: 1 })).toBe('{"name":"web","cpu":1}');
    expect(t.render({ Name: "web" })).toBe('{"Name":"web"}');
  });
  test("an unknown field is refused with the list of the known ones", () => {
    expect(errorOf(() => parseTemplate("{{.Nmae}}", FIELDS)).message).toBe(
      "--format: unknown template action {{.Nmae}}; use {{json .}} or one of {{.Name}} {{.CPUPerc}} {{.PIDs}}",
    );
    expect(errorOf(() => parseTemplate("{{range .}}", FIELDS)).message).toStartWith("--format: unknown template action {{range .}}");
  });
  test("a word that only starts with table is not a table", () => {
    expect(parseTemplate("tablet {{.Name}}", FIELDS).table).toBe(false);
  });
});

describe("alignColumns", () => {
  test("cells at least 10 wide, 3 spaces after the longest, the last column unpadded", () => {
    expect(alignColumns(["A\tBB\tC", "a-very-long-cell\tb\tc"])).toBe(`${"A".padEnd(19)}BB        C\n${"a-very-long-cell".padEnd(19)}b         c`);
  });
});

describe("renderGoTemplate", () => {
  const v = { Id: "sha256:x", Config: { Cmd: ["/bin/sh", "-c"], Labels: { a: "1", "b.c": "2" }, Entrypoint: null }, Size: 42 };

  test("fields, nested fields, json, index, Go's printing", () => {
    expect(renderGoTemplate("{{.Id}} {{.Size}}", v)).toBe("sha256:x 42");
    expect(renderGoTemplate("{{.Config.Cmd}}|{{json .Config.Cmd}}|{{.Config.Entrypoint}}|{{.Config.Nope}}", v)).toBe('[/bin/sh -c]|["/bin/sh","-c"]|<nil>|<no value>');
    expect(renderGoTemplate('{{index .Config.Labels "b.c"}} {{.Config.Labels}}', v)).toBe("2 map[a:1 b.c:2]");
    expect(renderGoTemplate("{{json .}}", { a: 1 })).toBe('{"a":1}');
    expect(goString([])).toBe("[]");
  });

  test("an unsupported action names the flag", () => {
    expect(errorOf(() => renderGoTemplate("{{range .x}}", v)).message).toBe('--format: unsupported template action {{range .x}}; use {{.Field.Sub}}, {{json .Field}} or {{index .Field "key"}}');
  });
});
