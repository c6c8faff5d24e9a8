import { expect, test } from "bun:test";
import { goString, renderGoTemplate } from "./go-template.ts";
import { errorOf } from "../../test/berth-error.ts";

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
