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
    expect(errorOf(() => renderGoTemplate("{{printf .Id}}", v)).message).toBe('--format: {{printf .Id}}: unsupported action; use {{.Field.Sub}}, {{json .Field}}, {{index .Field "key"}}, {{join .List ", "}}, {{range .Field}}…{{end}} or {{if .Field}}…{{end}}');
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

  const inspected = {
    Name: "/web",
    State: { Running: true, Status: "running", ExitCode: 0 },
    Config: { Env: ["PATH=/bin", "A=1"], Labels: { b: "2", a: "1" }, Cmd: null },
    Mounts: [{ Source: "/srv", Destination: "/data" }, { Source: "/v", Destination: "/v" }],
    NetworkSettings: { Networks: { web: { IPAddress: "10.90.1.2", DriverOpts: null }, bridge: { IPAddress: "10.90.0.2", DriverOpts: null } } },
  };
  const shape = { maps: ["Config.Labels", "NetworkSettings.Networks", "NetworkSettings.Networks.*.DriverOpts"] };
  const render = (t: string, value: unknown = inspected) => renderGoTemplate(t, value, shape);

  test("range over a list (. is each item) and over a map (its values, in its keys' order), as docker's -f uses them", () => {
    expect(render("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}")).toBe("10.90.0.2 10.90.1.2 ");
    expect(render("{{range .Mounts}}{{.Source}}:{{.Destination}},{{end}}")).toBe("/srv:/data,/v:/v,");
    expect(render("{{range .Config.Env}}{{.}}\\n{{end}}")).toBe("PATH=/bin\nA=1\n");
    expect(render("{{range .Config.Labels}}{{.}}{{end}}")).toBe("12");
    // a map inside a map's value keeps Go's rules: its missing key is <no value>
    expect(render('{{range .NetworkSettings.Networks}}{{index .DriverOpts "x"}}{{end}}')).toBe("<no value><no value>");
    // nothing to range over: the else part, or nothing
    expect(render("{{range .Config.Cmd}}x{{else}}none{{end}}")).toBe("none");
    expect(render("{{range .Config.Cmd}}x{{end}}|")).toBe("|");
    expect(render("{{range .Mounts}}{{range .}}{{end}}{{end}}", { Mounts: [[1], []] })).toBe("");
  });

  test("if, else if, else and with: Go's truth (false, 0, empty text, nil, an empty list or map are false)", () => {
    expect(render("{{if .State.Running}}up{{else}}down{{end}}")).toBe("up");
    expect(render("{{if .State.ExitCode}}failed{{else if .State.Running}}running{{else}}done{{end}}")).toBe("running");
    expect(render("{{if .Config.Cmd}}cmd{{end}}{{if .Config.Env}}env{{end}}{{if .Mounts}}m{{end}}")).toBe("envm");
    expect(render("{{with .State}}{{.Status}}/{{.ExitCode}}{{end}}")).toBe("running/0");
    expect(render("{{with .Config.Cmd}}{{.}}{{else}}no cmd{{end}}")).toBe("no cmd");
    expect(render("{{range .Mounts}}{{if .Source}}{{.Destination}}{{end}}{{end}}")).toBe("/data/v");
  });

  test("join, upper, lower, len, and index of a list by number", () => {
    expect(render('{{join .Config.Env ","}}')).toBe("PATH=/bin,A=1");
    expect(render("{{upper .State.Status}} {{lower .Name}} {{len .Mounts}} {{len .Config.Labels}} {{len .Name}}")).toBe("RUNNING /web 2 2 4");
    expect(render("{{index .Config.Env 1}}")).toBe("A=1");
    expect(errorOf(() => render("{{index .Config.Env 5}}")).message).toBe("--format: {{index .Config.Env 5}}: index 5 is out of range: the list has 2");
    expect(errorOf(() => render('{{join .State ","}}')).message).toBe('--format: {{join .State ","}}: join needs a list, and .State is a map or struct');
  });

  test("a block's mistakes are refused before any value is seen, naming the action", () => {
    const refused = (t: string) => errorOf(() => compileGoTemplate(t)).message;
    expect(refused("{{range .Mounts}}{{.Source}}")).toBe("--format: {{range .Mounts}}: unclosed; end it with {{end}}");
    expect(refused("{{.Name}}{{end}}")).toBe("--format: {{end}}: {{end}} without a {{range}}, {{if}} or {{with}} before it");
    expect(refused("{{else}}")).toBe("--format: {{else}}: {{else}} without a {{range}}, {{if}} or {{with}} before it");
    expect(refused("{{range $i, $m := .Mounts}}{{end}}")).toBe("--format: {{range $i, $m := .Mounts}}: variables are not supported; use {{range .Field}}…{{.}}…{{end}}, where . is each item");
    expect(refused("{{if}}{{end}}")).toBe("--format: {{if}}: if takes one field; use {{if .Field}}");
    expect(refused("{{if eq .A .B}}{{end}}")).toBe("--format: {{if eq .A .B}}: if takes one field; use {{if .Field}}");
    expect(refused("{{if .A}}{{else}}{{else}}{{end}}")).toBe("--format: {{else}}: a second {{else}}; a block has one");
  });

  test("inside a block, a struct's missing field is still an error, named as the template wrote it; a range over a struct is refused", () => {
    expect(errorOf(() => render("{{range .Mounts}}{{.Nope}}{{end}}")).message).toBe("--format: {{.Nope}}: no field Nope; use one of .Source .Destination");
    expect(errorOf(() => render("{{range .State}}{{end}}")).message).toBe("--format: {{range .State}}: range can't iterate over .State, a struct; range takes a list or a map");
    expect(errorOf(() => render("{{range .Name}}{{end}}")).message).toBe("--format: {{range .Name}}: range can't iterate over .Name, text; range takes a list or a map");
  });
});
