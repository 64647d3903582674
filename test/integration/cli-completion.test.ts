import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, ROOT } from '../helpers/env.js';

/** Asks the real bash what the generated script offers after `words` (the last one is being typed). */
function complete(script: string, words: string[]): string[] {
  const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _devicepass; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', program], { encoding: 'utf8', cwd: path.join(ROOT, 'test', 'fixtures') }).split('\n').filter(Boolean);
}

describe('devicepass completion', () => {
  it('bash: commands, subcommands, options and file names, from the program itself', async () => {
    const result = await cli(['completion', 'bash']);
    expect(result.code).toBe(0);
    const script = result.stdout;
    expect(complete(script, ['devicepass', ''])).toEqual(expect.arrayContaining(['address', 'device', 'sessions', 'backup', 'status', '--json']));
    expect(complete(script, ['devicepass', 'device', 're'])).toEqual(['rename', 'reset', 'revoke', 'revoke-all']);
    expect(complete(script, ['devicepass', '--json', 'device', 'add', 'alice@example.com', '--'])).toEqual(
      expect.arrayContaining(['--name', '--scopes', '--expires', '--password-stdin']),
    );
    expect(complete(script, ['devicepass', '--config', '/etc/x.toml', 'device', 'revoke-all', 'a@b', '--y'])).toEqual(['--yes']);
    expect(complete(script, ['devicepass', 'import', 'passwd-file', 'passwd-file.s'])).toEqual(['passwd-file.sample']);
    expect(complete(script, ['devicepass', 'completion', ''])).toEqual(['bash', 'zsh']);
  });

  it('zsh: a #compdef script on the same table; another shell is a usage error', async () => {
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef devicepass\n/);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('complete -F _devicepass devicepass');
    expect((await cli(['completion', 'fish'])).code).toBe(2);
  });
});
