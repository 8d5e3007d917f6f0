# tokend shell integration for fish, from `tokend shell-init fish`. Load it in
# ~/.config/fish/config.fish:   tokend shell-init fish | source
# `tokend export` sets variables in this shell; the prompt hook unsets each at the first prompt
# after its deadline. fish has no clock of its own: the hook runs `date` once per prompt, and only
# while a variable is pending.

set -q __tokend_exports; or set -g __tokend_exports
set -q __tokend_next; or set -g __tokend_next 0

function tokend --description 'tokend, with `tokend export` acting on this shell'
    if test "$argv[1]" != export
        command tokend $argv
        return
    end
    # The values come through this pipe only; tokend prints nothing when it fails.
    command tokend export --shell=fish --tracked=$__tokend_exports $argv[2..-1] | source
    return $pipestatus[1]
end

function __tokend_hook --on-event fish_prompt
    test "$__tokend_next" -gt 0; or return
    set -l now (command date +%s)
    test $now -ge $__tokend_next; or return
    set -l keep
    set -l new 0
    for e in $__tokend_exports
        set -l parts (string split -m 1 = -- $e)
        if test $parts[2] -le $now
            set -eg $parts[1]
        else
            set -a keep $e
            if test $new -eq 0 -o $parts[2] -lt $new
                set new $parts[2]
            end
        end
    end
    set -g __tokend_exports $keep
    set -g __tokend_next $new
end
