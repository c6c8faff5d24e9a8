/**
 * `berth login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY]` and `berth logout
 * [REGISTRY]`: credentials checked against the registry, then kept in docker's
 * config.json (engine/image/auth-config.ts); REGISTRY defaults to Docker Hub.
 */
import type { Command } from "../command.ts";
import { BerthError } from "../../errors.ts";
import { authConfigPath, removeCredentials, saveCredentials } from "../../engine/image/auth-config.ts";
import { RegistryClient } from "../../engine/image/registry.ts";
import { DOCKER_HUB } from "../../engine/image/reference.ts";
import { parseTlsVerify } from "./tls-verify.ts";
import { stdinStream } from "../../sys/file-stream.ts";
import { writeOut } from "../stdio.ts";

/** `https://index.docker.io/v1/`, `docker.io`, `host:port` → the registry's domain. */
function registryDomain(arg: string | undefined): string {
  if (arg === undefined) return DOCKER_HUB;
  const host = arg.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  if (host === "index.docker.io" || host === "registry-1.docker.io" || host === DOCKER_HUB) return DOCKER_HUB;
  if (!/^[\w.-]+(:\d+)?$|^\[[\da-fA-F:]+\](:\d+)?$/.test(host)) throw new BerthError(`${JSON.stringify(arg)} is not a registry (HOST[:PORT])`, { field: "SERVER" });
  return host;
}

export function registerLogin(program: Command): void {
  program.command("login").description("log in to a registry").argument("[server]", "registry HOST[:PORT] (default Docker Hub)")
    .option("-u, --username <user>", "user name")
    .option("-p, --password <password>", "password (visible to other users in ps; prefer --password-stdin)")
    .option("--password-stdin", "read the password from stdin")
    .option("--tls-verify <bool>", "verify the registry's TLS certificate (false: also allow plain HTTP)", "true")
    .action(async (server: string | undefined, opts: { username?: string; password?: string; passwordStdin?: boolean; tlsVerify: string }) => {
      const domain = registryDomain(server);
      const tlsVerify = parseTlsVerify(opts.tlsVerify);
      if (!opts.username) throw new BerthError("a user name is needed: -u USER", { field: "--username" });
      if (opts.password !== undefined && opts.passwordStdin) throw new BerthError("give --password or --password-stdin, not both", { field: "--password-stdin" });
      let password = opts.password;
      if (opts.passwordStdin) password = (await new Response(stdinStream()).text()).replace(/\r?\n$/, "");
      if (!password) throw new BerthError("a password is needed: --password-stdin (or -p)", { field: "--password" });
      const credentials = { username: opts.username, password };
      await new RegistryClient(domain, { tlsVerify, credentials }).ping(`login to ${domain}`);
      saveCredentials(domain, credentials);
      writeOut(`Login Succeeded\n`);
    });
}

export function registerLogout(program: Command): void {
  program.command("logout").description("forget a registry's credentials").argument("[server]", "registry HOST[:PORT] (default Docker Hub)")
    .action((server: string | undefined) => {
      const domain = registryDomain(server);
      writeOut(removeCredentials(domain) ? `Removing login credentials for ${domain}\n` : `Not logged in to ${domain} (${authConfigPath()})\n`);
    });
}
