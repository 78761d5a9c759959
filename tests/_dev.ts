/**
 * Helpers for tests of the user's path through scripts/dev.sh: a copy of the
 * checkout (as a fresh clone would be), dev.sh started in it, commands run as
 * a user would run them, and the check that nothing is left running.
 *
 * @module
 */

const repo = new URL("..", import.meta.url).pathname;
/** What scripts/dev.sh prints once everything is up. */
export const READY = "press Ctrl-C to stop";

/** What a finished command printed, and its exit code. */
export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (with exactly `env` when given) and captures its output. */
export async function capture(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Captured> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    clearEnv: options.env !== undefined,
    ...(options.env ? { env: options.env } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a command to its end; throws with its output when it fails. */
export async function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<string> {
  const out = await capture(cmd, args, options);
  const text = out.stdout + out.stderr;
  if (out.code !== 0) throw new Error(`running ${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

/** Copies tracked and untracked non-ignored files: a clone misses uncommitted work. */
export async function copyCheckout(into: string): Promise<void> {
  const list = await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repo });
  for (const file of list.split("\0").filter((f) => f.length > 0)) {
    const target = `${into}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    try {
      await Deno.copyFile(`${repo}${file}`, target);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted, not yet committed
    }
  }
  // node_modules is not copied: dev.sh runs `deno install --frozen`, as a fresh clone would.
}

/** The system's PATH: what a new terminal has before the README's steps. */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Processes (other than the lister) whose working directory or command line
 * is inside `dir`. Deno may not list /proc itself, so bash does; a process
 * that exits while it is being looked at is simply not one: the lister's
 * stderr goes nowhere and only its `pid: command` lines on stdout count.
 */
export async function processesIn(dir: string): Promise<string[]> {
  const script = `exec 2>/dev/null
  for p in /proc/[0-9]*; do
    [ "\${p#/proc/}" = "$$" ] && continue
    c=$(tr '\\0' ' ' <"$p/cmdline") || continue
    [ -n "$c" ] || continue
    w=$(readlink "$p/cwd") || w=""
    case "$w $c" in *"$1"*) echo "\${p#/proc/}: $c";; esac
  done`;
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "processes_in", dir],
    cwd: "/",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((line) =>
    /^\d+: /.test(line) && !line.includes("processes_in")
  );
}

/**
 * Waits until no process is left in `dir`: a child that was signalled may
 * still be exiting when dev.sh returns (its parent reaps it). Returns what is
 * left after `ms`, which the test expects to be nothing.
 */
export async function leftoverProcesses(dir: string, ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = await processesIn(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** A running scripts/dev.sh. */
export type DevRun = {
  child: Deno.ChildProcess;
  output: () => string;
  stop: () => Promise<Deno.CommandStatus>;
};

/**
 * Starts `bash scripts/dev.sh` in `dir` with exactly `env` and waits until it
 * is ready; `stop` sends SIGINT (Ctrl-C) and waits for it to end.
 */
export async function startDev(dir: string, env: Record<string, string>): Promise<DevRun> {
  const child = new Deno.Command("bash", {
    args: ["scripts/dev.sh"],
    cwd: dir,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }));
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 120_000;
  while (!text.includes(READY)) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await pumps;
      throw new Error(`scripts/dev.sh did not get ready (exited: ${exited}):\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    child,
    output: () => text,
    stop: async () => {
      child.kill("SIGINT");
      const status = await child.status;
      await pumps;
      return status;
    },
  };
}
