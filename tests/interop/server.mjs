// Starts and stops ./signal for the interop suites.
//
// start(port, extra) runs `./signal -p PORT -r www EXTRA...` from the
// repository root (or $SIGNAL_BIN, as the C suites do), waits for the banner
//   signal: listening on http://127.0.0.1:PORT/ (root www)
// on its stdout and returns { port, proc, stop }.  stop(signal) sends the
// signal and resolves with the exit code (null if it died by a signal).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const bin = process.env.SIGNAL_BIN || './signal';
const BANNER = /^signal: listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(root www\)$/m;

export function start(port = 0, extra = [], timeoutMs = 5000) {
  const proc = spawn(path.resolve(repoRoot, bin), ['-p', String(port), '-r', 'www', ...extra],
                     { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no banner from ${bin} in ${timeoutMs} ms; stdout: ${out} stderr: ${err}`));
    }, timeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited with ${code} before its banner; stderr: ${err}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = BANNER.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        port: Number(m[1]),
        proc,
        stderr: () => err,
        // Resolves with the exit code; SIGKILL after 5 s if it will not go.
        stop(signal = 'SIGTERM') {
          if (proc.exitCode !== null || proc.signalCode !== null) return exited;
          proc.kill(signal);
          const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
          return exited.finally(() => clearTimeout(force));
        },
      });
    });
  });
}
