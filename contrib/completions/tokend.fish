# fish completion for tokend: put this file in ~/.config/fish/completions/ (or the vendor_completions.d
# directory). Secret names come from `tokend ls`, which shows names and never values.

function __tokend_names
    command tokend ls 2>/dev/null | string match -rv '^NAME ' | string replace -r ' .*' ''
end

# VAR=NAME: secret names once the `=` is typed.
function __tokend_assignments
    set -l token (commandline -ct)
    string match -q -- '*=*' $token; or return
    set -l var (string replace -r '=.*' '' -- $token)
    for name in (__tokend_names)
        echo "$var=$name"
    end
end

set -l commands get put update rm ls exec export shell-init status stop init unlock lock migrate doctor git-credential docker-credential
complete -c tokend -f
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -l socket -r -F -d 'The agent socket'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -l help -d 'Show the usage'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a get -d "Print a secret's value"
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a put -d 'Store a value read from stdin or a prompt'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a update -d "Change a secret's metadata"
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a rm -d 'Remove a secret, or every secret of an owner'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a ls -d 'List names and metadata'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a exec -d 'Run a command with secrets in its environment'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a export -d 'Set variables in this shell until a deadline'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a shell-init -d 'Print the shell integration'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a status -d 'Show the agent and its store'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a stop -d 'Stop the agent'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a init -d 'Create the encrypted file store'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a unlock -d 'Unlock the encrypted file store'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a lock -d 'Lock the encrypted file store'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a migrate -d 'Move every secret to the other store'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'Check the set-up'
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a git-credential -d "git's credential helper"
complete -c tokend -n "not __fish_seen_subcommand_from $commands" -a docker-credential -d "docker's credential helper"

complete -c tokend -n '__fish_seen_subcommand_from get rm put update ls' -a '(__tokend_names)' -d secret
complete -c tokend -n '__fish_seen_subcommand_from put' -l raw -d 'Keep every byte of the value'
complete -c tokend -n '__fish_seen_subcommand_from put update rm ls' -l owner -x -d 'Who the token belongs to'
complete -c tokend -n '__fish_seen_subcommand_from put update' -l expires -x -d 'Duration (30d) or RFC 3339 time'
complete -c tokend -n '__fish_seen_subcommand_from put update' -l note -x -d 'A note'
complete -c tokend -n '__fish_seen_subcommand_from put update' -l allow -r -F -d 'An executable allowed to read it'
complete -c tokend -n '__fish_seen_subcommand_from update' -l allow-any -d 'Let any executable read it'
complete -c tokend -n '__fish_seen_subcommand_from ls status' -l json -d 'JSON output'

complete -c tokend -n '__fish_seen_subcommand_from exec' -s e -l env -x -a '(__tokend_assignments)' -d 'Set VAR from a secret'
complete -c tokend -n '__fish_seen_subcommand_from exec' -l env-file -r -F -d 'Read variables from an env file'
complete -c tokend -n '__fish_seen_subcommand_from exec' -l only -d 'Start the command with a minimal environment'
complete -c tokend -n '__fish_seen_subcommand_from exec' -a '(__fish_complete_command)'

complete -c tokend -n '__fish_seen_subcommand_from export; and not __fish_seen_argument -l clear' -a '(__tokend_assignments)'
complete -c tokend -n '__fish_seen_subcommand_from export' -l ttl -x -d 'How long the variables live (90s, 15m, 2h)'
complete -c tokend -n '__fish_seen_subcommand_from export' -l clear -d 'Unset variables now'
complete -c tokend -n '__fish_seen_subcommand_from export' -l list -d 'Show the variables and their deadlines'
complete -c tokend -n '__fish_seen_subcommand_from export; and __fish_seen_argument -l clear' -a '(string replace -r "=.*" "" -- $__tokend_exports)' -d 'Set by tokend export'

complete -c tokend -n '__fish_seen_subcommand_from shell-init' -a 'bash zsh fish'
complete -c tokend -n '__fish_seen_subcommand_from init unlock migrate' -l passphrase-fd -x -d 'Read the passphrase from a descriptor'
complete -c tokend -n '__fish_seen_subcommand_from init unlock migrate' -l passphrase-file -r -F -d 'Read the passphrase from a file'
complete -c tokend -n '__fish_seen_subcommand_from migrate' -l to -x -a 'file secret-service' -d 'The target store'
complete -c tokend -n '__fish_seen_subcommand_from git-credential' -a 'get store erase'
complete -c tokend -n '__fish_seen_subcommand_from docker-credential' -a 'store get erase list version'
