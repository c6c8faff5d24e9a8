import { describe, expect, test } from "bun:test";
import { errorOf } from "../../test/berth-error.ts";
import { alignColumns, compileGoTemplate, goString, parseTemplate, renderGoTemplate } from "./template.ts";

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
    expect(errorOf(() => parseTemplate("{{.Nmae}}", FIELDS)).message).toBe("--format: {{.Nmae}}: no field Nmae; use {{json .}} or one of .Name .CPUPerc .PIDs");
    expect(errorOf(() => parseTemplate("{{json .Nmae}}", FIELDS)).message).toStartWith("--format: {{json .Nmae}}: no field Nmae; use");
    expect(errorOf(() => parseTemplate("{{.Name.First}}", FIELDS)).message).toBe("--format: {{.Name.First}}: .Name is text and has no field First; use {{.Name}}");
    expect(errorOf(() => parseTemplate("{{range .}}", FIELDS)).message).toBe("--format: {{range .}}: unsupported action; use {{json .}} or one of .Name .CPUPerc .PIDs");
  });
  test("a template that does not parse: an unclosed action, json without its value, an empty action", () => {
    for (const [t, why] of [["{{", "{{: unclosed action; end it with }}"], ["table {{.Name}}\\t{{.PIDs", "{{.PIDs: unclosed action; end it with }}"], ["{{json}}", "{{json}}: json takes one value; use {{json .}} or {{json .Field}}"], ["{{json . .Name}}", "{{json . .Name}}: json takes one value"], ["{{}}", "{{}}: unsupported action"]]) {
      expect(errorOf(() => parseTemplate(t!, FIELDS)).message).toStartWith(`--format: ${why}`);
    }
    // the flag is the caller's; a long action is cut, a newline in it shown as a space: one line
    expect(errorOf(() => parseTemplate("{{.Name", FIELDS, "--pretty")).message).toStartWith("--pretty: {{.Name: unclosed");
    const long = errorOf(() => parseTemplate(`{{.Name\n${"x".repeat(5000)}`, FIELDS)).message;
    expect(long).not.toContain("\n");
    expect(long.length).toBeLessThan(120);
    // a terminal's escape or a NUL in an action is shown escaped, never sent to the terminal
    const esc = errorOf(() => parseTemplate("{{.Na\u001b[2Jme\u0000}}", FIELDS)).message;
    expect(esc).toBe("--format: {{.Na\\u001b[2Jme\\u0000}}: unsupported action; use {{json .}} or one of .Name .CPUPerc .PIDs");
  });
  test("{{json .Field}} prints the field as JSON; Go's trim markers and comments", () => {
    expect(parseTemplate("{{json .Name}} {{- .PIDs -}} ", FIELDS).render({ Name: 'a"b', PIDs: "3" })).toBe('"a\\"b"3');
    expect(parseTemplate("{{.Name}} {{/* why */}}{{.PIDs}}", FIELDS).render({ Name: "web", PIDs: "3" })).toBe("web 3");
    expect(parseTemplate("{{.Name}} \n {{- .PIDs}}", FIELDS).render({ Name: "web", PIDs: "3" })).toBe("web3");
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
    expect(renderGoTemplate("{{.Config.Cmd}}|{{json .Config.Cmd}}|{{.Config.Entrypoint}}", v)).toBe('[/bin/sh -c]|["/bin/sh","-c"]|<nil>');
    expect(renderGoTemplate('{{index .Config.Labels "b.c"}} {{.Config.Labels}}', v)).toBe("2 map[a:1 b.c:2]");
    expect(renderGoTemplate("{{json .}}", { a: 1 })).toBe('{"a":1}');
    expect(goString([])).toBe("[]");
  });

  test("an unsupported action names the flag", () => {
    expect(errorOf(() => renderGoTemplate("{{range .x}}", v)).message).toBe('--format: {{range .x}}: unsupported action; use {{.Field.Sub}}, {{json .Field}} or {{index .Field "key"}}');
    expect(errorOf(() => renderGoTemplate("{{.Nope}}", v, { flag: "-f" })).message).toBe("-f: {{.Nope}}: no field Nope; use one of .Id .Config .Size");
  });

  test("a map's missing key is <no value>, as Go's (and anything under it); a struct's missing field is an error naming the fields it has", () => {
    const shape = { maps: ["Config.Labels", "Networks", "Networks.*.Options"] };
    const o = { Name: "web", Config: { Labels: { a: "1" }, Cmd: null }, Networks: { bridge: { IP: "10.0.0.2", Options: {} } } };
    expect(renderGoTemplate("{{.Config.Labels.nope}}|{{.Config.Labels.nope.deeper}}|{{index .Config.Labels \"x\"}}|{{json .Config.Labels.nope}}", o, shape)).toBe("<no value>|<no value>|<no value>|null");
    expect(renderGoTemplate("{{.Networks.bridge.IP}} {{.Networks.other}} {{.Networks.bridge.Options.mtu}}", o, shape)).toBe("10.0.0.2 <no value> <no value>");
    expect(errorOf(() => renderGoTemplate("{{.Nope}}", o, shape)).message).toBe("--format: {{.Nope}}: no field Nope; use one of .Name .Config .Networks");
    expect(errorOf(() => renderGoTemplate("{{.Config.Nope}}", o, shape)).message).toBe("--format: {{.Config.Nope}}: .Config has no field Nope; use one of .Config.Labels .Config.Cmd");
    // a map's values are structs again: the wildcard names which
    expect(errorOf(() => renderGoTemplate("{{.Networks.bridge.Nope}}", o, shape)).message).toStartWith("--format: {{.Networks.bridge.Nope}}: .Networks.bridge has no field Nope; use one of .Networks.bridge.IP");
    expect(errorOf(() => renderGoTemplate('{{index .Config "Nope"}}', o, shape)).message).toStartWith('--format: {{index .Config "Nope"}}: .Config has no field Nope');
    // without the shape saying so, an object is a struct
    expect(errorOf(() => renderGoTemplate("{{.Config.Labels.nope}}", o)).message).toStartWith("--format: {{.Config.Labels.nope}}: .Config.Labels has no field nope; use one of .Config.Labels.a");
  });

  test("a field of something that has none: text, a list, null", () => {
    const o = { Name: "web", Mounts: [{ Source: "/a" }], Health: null };
    expect(errorOf(() => renderGoTemplate("{{.Name.First}}", o)).message).toBe("--format: {{.Name.First}}: .Name is text and has no field First; use {{json .Name}} to see it");
    expect(errorOf(() => renderGoTemplate("{{.Mounts.Source}}", o)).message).toBe("--format: {{.Mounts.Source}}: .Mounts is a list and has no field Source; use {{json .Mounts}} to see it");
    expect(errorOf(() => renderGoTemplate("{{.Health.Status}}", o)).message).toBe("--format: {{.Health.Status}}: .Health is null and has no field Status; use {{json .Health}} to see it");
  });

  test("optional fields a value may leave out print <no value>; others still fail", () => {
    const shape = { fields: ["exitCode", "Actor", "Actor.Attributes"], maps: ["Actor.Attributes"] };
    expect(renderGoTemplate("{{.type}} {{.exitCode}} {{.Actor.Attributes.name}}", { type: "start" }, shape)).toBe("start <no value> <no value>");
    expect(renderGoTemplate("{{.Actor.Attributes.name}}", { type: "start", Actor: { ID: "x", Attributes: { name: "web" } } }, shape)).toBe("web");
    expect(errorOf(() => renderGoTemplate("{{.nope}}", { type: "start" }, shape)).message).toBe("--format: {{.nope}}: no field nope; use one of .type .exitCode .Actor");
    // under a left-out struct, only its declared fields; under a map's missing key, anything
    expect(errorOf(() => renderGoTemplate("{{.Actor.Nope}}", { type: "start" }, shape)).message).toBe("--format: {{.Actor.Nope}}: .Actor has no field Nope; use one of .Actor.Attributes");
    expect(renderGoTemplate("{{.Actor.Attributes.a.b}}", { type: "start" }, shape)).toBe("<no value>");
  });

  test("a template that does not parse is refused before any value is seen", () => {
    for (const [t, why] of [["{{", "{{: unclosed action; end it with }}"], ["{{.ID", "{{.ID: unclosed action"], ["{{json}}", "{{json}}: json takes one value"], ["{{}}", "{{}}: empty action; use {{.Field}}"], ["{{.A..B}}", "{{.A..B}}: unsupported action"], ["{{.A | upper}}", "{{.A | upper}}: unsupported action"]]) {
      expect(errorOf(() => compileGoTemplate(t!)).message).toStartWith(`--format: ${why}`);
    }
  });
});
