import { describe, expect, test } from "bun:test";
import { conmonName, dockerName, kubeLogNames, podmanNames } from "./names.ts";

const A = "4f3c2b1a".repeat(8);

describe("names from the engines' state", () => {
  test("docker config.v2.json", () => {
    expect(dockerName(JSON.stringify({ ID: A, Name: "/web", State: { Running: true } }))).toBe("web");
    expect(dockerName("{not json")).toBeUndefined();
    expect(dockerName("{}")).toBeUndefined();
  });
  test("podman containers.json: the first name", () => {
    const json = JSON.stringify([{ id: A, names: ["web", "alias"], image: "x" }, { id: "b", names: [] }, { names: ["no-id"] }]);
    expect(podmanNames(json)).toEqual(new Map([[A, "web"]]));
    expect(podmanNames("garbage").size).toBe(0);
    expect(podmanNames("{}").size).toBe(0);
  });
  test("conmon's command line: -n/--name, only when its -c/--cid is the container", () => {
    // as podman 4.3 starts it (shortened)
    const podman = ["/usr/bin/conmon", "--api-version", "1", "-c", A, "-u", A, "-r", "/usr/sbin/runc", "-b", `/x/${A}/userdata`, "-n", "web-1", "--exit-dir", "/x/exits", ""].join("\0");
    expect(conmonName(podman, A)).toBe("web-1");
    expect(conmonName(podman, A.replace("4", "5"))).toBeUndefined();
    expect(conmonName(["conmon", `--cid=${A}`, "--name=db", ""].join("\0"), A)).toBe("db");
    expect(conmonName(["conmon", "-c", A, "-n"].join("\0"), A)).toBeUndefined();
    expect(conmonName(["conmon", "-c", A, "-n", ""].join("\0"), A)).toBeUndefined();
    expect(conmonName("", A)).toBeUndefined();
  });
  test("kubelet log links: namespace/pod/container", () => {
    expect(kubeLogNames([`web-7d9f8c-x2x_shop_nginx-${A}.log`, `coredns-5d78c9869d-abcde_kube-system_coredns-${A.replace("4", "5")}.log`, "junk.log"]))
      .toEqual(new Map([[A, "shop/web-7d9f8c-x2x/nginx"], [A.replace("4", "5"), "kube-system/coredns-5d78c9869d-abcde/coredns"]]));
  });
});
