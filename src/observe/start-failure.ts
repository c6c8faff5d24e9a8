/**
 * Why a container did not start, from the OCI runtime's `--log` (runtime/log-record.ts
 * reads its two formats), or from what the engine printed before any
 * runtime ran (podman's and docker's `Error: …` line, the kubelet's `Failed to pull
 * image …` event): the image pull and unpack phases. Pure.
 *
 * The phase is read from the words the runtimes use; podman maps the same phrases to
 * exit codes ("executable file not found in" / "no such file or directory" → 127,
 * "permission denied" / "operation not permitted" → 126), so the codes here agree with
 * what `podman run` and docker exit with.
 */
import { lastRuntimeError, parseRuntimeLogLine, type RuntimeLogLine } from "../runtime/log-record.ts";

/**
 * The error in a runtime log or, when it has none in the runtime's format, in an engine's
 * plain output: the last line that says error or failed, without podman's and docker's
 * `Error: ` / `docker: Error response from daemon: ` prefix.
 *
 * @example lastError('Trying to pull x...\nError: initializing source docker://x: pinging container registry x: …') // → { level: "error", msg: "initializing source docker://x: …" }
 */
export function lastError(text: string): RuntimeLogLine | undefined {
  const logged = lastRuntimeError(text);
  if (logged) return logged;
  const line = text.split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && parseRuntimeLogLine(l) === undefined && /\b(?:error|failed)\b/i.test(l)).at(-1);
  if (line === undefined) return undefined;
  return { level: "error", msg: line.replace(/^(?:docker: )?Error(?: response from daemon)?: /, "") };
}

export type StartPhase = "image pull" | "unpack" | "bundle" | "spec" | "cgroup" | "namespaces" | "mounts" | "rootfs" | "hooks" | "seccomp" | "user" | "rlimits" | "exec" | "runtime";

export interface StartFailure {
  phase: StartPhase;
  /** the engine failed (pulling or unpacking the image) before any runtime ran */
  engine?: true;
  /** the exit code an engine gives this failure: 126, 127, or 125 (the runtime failed) */
  exitCode: 125 | 126 | 127;
  /** the spec field the runtime blamed (`process.args[0]`, `mounts[3]`), when it named one */
  field?: string;
  message: string;
  explanation: string;
  fix: string;
}

const RULES: { re: RegExp; phase: StartPhase; engine?: true; exitCode?: 126 | 127; explanation: string; fix: string }[] = [
  // the engine's phases first: their messages also name files and "no such file"
  {
    re: /ApplyLayer|applying layer|adding layer|extract(?:ing)? layer|unpack(?:ing)? layer/i, phase: "unpack", engine: true,
    explanation: "the image was fetched but its layers could not be written into the engine's storage: disk or inodes full, a read-only or broken store",
    fix: "free space and inodes where the engine stores images (podman /var/lib/containers/storage, containerd /var/lib/containerd, docker /var/lib/docker; `berth doctor` shows the disks), then pull again",
  },
  {
    re: /pinging container registry|initializing source docker:|reading manifest|manifest unknown|failed to resolve reference|pull access denied|requested access to the resource is denied|ErrImagePull|ImagePullBackOff|failed to pull|error pulling image|toomanyrequests|fetch(?:ing)? (?:blob|manifest)|x509: /i,
    phase: "image pull", engine: true,
    explanation: "the image could not be fetched: the registry did not answer, the name or tag does not exist there, or access was denied",
    fix: "check the image reference and tag, that the registry answers (`skopeo inspect docker://REF`), the credentials (`podman login`, imagePullSecrets), and for a plain-HTTP registry its insecure setting (registries.conf, --tls-verify=false)",
  },
  {
    // runc/berth: `executable file not found in $PATH`; crun: "executable file `x` not found in $PATH"
    // runc with an absolute path: `exec: "/usr/bin/x": stat /usr/bin/x: no such file or directory`
    re: /executable file (?:`[^`]*` )?not found in|no such file or directory.*(?:exec|process\.args)|(?:process\.args|\bexec: ).*no such file or directory/i, phase: "exec", exitCode: 127,
    explanation: "the command does not exist in the container's root filesystem or $PATH (exit 127)",
    fix: "fix process.args[0] (the image's CMD/ENTRYPOINT or the command given) or the image: the file must exist in the rootfs, or be found in process.env PATH",
  },
  {
    re: /(?:process\.args|exec).*(?:permission denied|not an executable|exec format error)|permission denied: .* is not an executable/i, phase: "exec", exitCode: 126,
    explanation: "the command exists but cannot be executed (exit 126): no execute bit, a directory, a wrong architecture, or a missing #! interpreter",
    fix: "chmod +x the file in the image, check its #! line and architecture (`file` on it)",
  },
  { re: /config\.json|bundle|root\.path/i, phase: "bundle", explanation: "the bundle is unusable: config.json missing or invalid, or the root filesystem is not there", fix: "check the bundle directory and its config.json (`berth-runtime spec` writes a valid one)" },
  { re: /cgroup/i, phase: "cgroup", explanation: "the container's cgroup could not be made or its limits not written", fix: "run `berth doctor` (controllers, delegation), and check linux.resources against the host" },
  { re: /\bhook/i, phase: "hooks", explanation: "an OCI hook failed or timed out", fix: "run the hook by hand with the state JSON on stdin, or remove it from config.json's hooks" },
  { re: /seccomp/i, phase: "seccomp", explanation: "the seccomp profile could not be compiled or loaded", fix: "check linux.seccomp (architectures, syscall names) and `berth doctor`'s seccomp line" },
  { re: /linux\.namespaces|unshare|setns|namespace/i, phase: "namespaces", explanation: "a namespace could not be created or joined", fix: "run `berth doctor` (user namespaces, max_user_namespaces) and check linux.namespaces paths" },
  { re: /pivot_root|rootfs|readonly|root filesystem/i, phase: "rootfs", explanation: "the root filesystem could not be set up", fix: "check root.path and `berth doctor`'s pivot_root line (use --no-pivot on an initramfs root)" },
  { re: /mounts\[|mount/i, phase: "mounts", explanation: "a mount in config.json failed", fix: "check the named mounts[] entry: its source must exist and its type and options be valid here" },
  { re: /uidMappings|gidMappings|process\.user|setresuid|setgroups/i, phase: "user", explanation: "the container's user or id mapping could not be set", fix: "check process.user and linux.uidMappings/gidMappings (and /etc/subuid for rootless)" },
  { re: /rlimit/i, phase: "rlimits", explanation: "an rlimit above the hard limit was asked for without CAP_SYS_RESOURCE", fix: "lower process.rlimits (e.g. `--ulimit nofile=1024:1024`) to at most the runtime's own hard limits" },
];

/** config.json's top-level keys: the fields an error may name without a dot */
const SPEC_KEYS = new Set(["ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux"]);

/**
 * Classify a runtime error message.
 *
 * @example classifyStartFailure('process.args[0]: "nope": executable file not found in $PATH: no such file or directory')
 * // → { phase: "exec", exitCode: 127, field: "process.args[0]", … }
 */
export function classifyStartFailure(message: string): StartFailure {
  // berth-runtime's lines start with the spec field, sometimes with what it names: `mounts[3] (/proc): …`
  const word = /^([a-z][\w.]*(?:\[\d+\])*(?:\.\w+(?:\[\d+\])*)*)(?: \([^)]*\))?: /i.exec(message)?.[1];
  // a spec field is a path (process.args[0], mounts[3]) or a top-level key; a bare word is who spoke ("crun: …", "runc: …")
  const field = word !== undefined && (/[.[]/.test(word) || SPEC_KEYS.has(word)) ? word : undefined;
  const withField = (f: Omit<StartFailure, "field">): StartFailure => (field ? { ...f, field } : f);
  for (const r of RULES) {
    if (!r.re.test(message)) continue;
    const failure: StartFailure = { phase: r.phase, ...(r.engine && { engine: true }), exitCode: r.exitCode ?? 125, message, explanation: r.explanation, fix: r.fix };
    // the engine's messages name no spec field (a "word: " start is theirs, not a field)
    return r.engine ? failure : withField(failure);
  }
  return withField({ phase: "runtime", exitCode: 125, message, explanation: "the runtime failed before the container's process ran", fix: "read the runtime's whole log (--log) and run it with --debug" });
}
