import type { Command } from 'commander';
import { CliError } from '../client.js';
import type { CliContext } from '../context.js';

/** Options whose value is a file name. */
const FILE_OPTIONS = ['--config', '--socket'];

interface Node {
  path: string;
  words: string[];
  leaf: boolean;
}

/** Every command path with what may follow it, read from the program itself so completion never falls behind a new command. */
function commandTree(program: Command): Node[] {
  const nodes: Node[] = [];
  const visit = (command: Command, path: string[]) => {
    const children = command.commands.filter((c) => c.name() !== 'help');
    const options = command.options.map((o) => o.long).filter((o): o is string => o !== undefined);
    nodes.push({ path: path.join(' '), words: [...children.map((c) => c.name()), ...options, ...(path.length === 0 ? [] : ['--help'])], leaf: children.length === 0 });
    for (const child of children) visit(child, [...path, child.name()]);
  };
  visit(program, []);
  // the longest paths first: `device add …` must win over `device`
  return nodes.sort((a, b) => b.path.length - a.path.length);
}

function bashScript(program: Command): string {
  const cases = commandTree(program).map((node) => {
    const pattern = node.path === '' ? '""' : node.leaf ? `"${node.path}"|"${node.path} "*` : `"${node.path}"`;
    return `    ${pattern}) words="${node.words.join(' ')}" ;;`;
  });
  return `# devicepass completion for bash: source it, or put it in /etc/bash_completion.d/devicepass
_devicepass() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" word words skip=0
  case "$prev" in ${FILE_OPTIONS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    case "$word" in ${FILE_OPTIONS.join('|')}) skip=1 ;; -*) ;; *) path="\${path:+$path }$word" ;; esac
  done
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  case "$path" in
    "import passwd-file"|"backup") COMPREPLY=($(compgen -f -- "$cur")); return ;;
    "completion") words="bash zsh" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _devicepass devicepass
`;
}

function zshScript(program: Command): string {
  return `#compdef devicepass
# devicepass completion for zsh: put it on $fpath as _devicepass (it uses zsh's bash completion layer)
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split('\n').slice(1).join('\n')}`;
}

export function registerCompletion(program: Command, ctx: CliContext): void {
  program.command('completion <shell>').description('print a shell completion script: bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') ctx.out(bashScript(program));
      else if (shell === 'zsh') ctx.out(zshScript(program));
      else throw new CliError(`no completion for ${JSON.stringify(shell)}: bash or zsh`, 2);
    });
}
