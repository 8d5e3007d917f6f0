/// `tokend shell-init bash|zsh|fish`: prints the shell integration, a `tokend` function that runs
/// `tokend export` in the calling shell, and a prompt hook that unsets exported variables at the first prompt
/// after their deadline. The same text is in contrib/shell/ for packagers (a test keeps them equal).
///
/// The hooks fork nothing in bash and zsh: they compare the shell's own clock (EPOCHSECONDS, or bash's
/// `printf %(%s)T`) with the earliest deadline. fish has no clock of its own, so its hook runs `date` once
/// per prompt, and only while a variable is pending.
enum ShellInit {
    static func run(_ context: Context, _ args: inout Arguments) throws(CommandFailure) {
        let parsed = try args.parse()
        guard parsed.positionals.count == 1, let script = scripts[parsed.positionals[0]] else {
            throw .usage("usage: tokend shell-init bash|zsh|fish")
        }
        Output.out(script)
    }

    static let scripts = ["bash": bash, "zsh": zsh, "fish": fish]

    static let bash = #"""
        # tokend shell integration for bash 4.4 or later, from `tokend shell-init bash`. Load it last in
        # ~/.bashrc:   eval "$(tokend shell-init bash)"
        # `tokend export` sets variables in this shell; the prompt hook unsets each at the first prompt
        # after its deadline without starting a process.

        if [[ -z ${__tokend_next+set} ]]; then
          __tokend_exports=()
          __tokend_next=0
        fi

        tokend() {
          if [[ ${1-} != export ]]; then
            command tokend "$@"
            return
          fi
          shift
          local __tokend_code __tokend_e
          local -a __tokend_args=()
          for __tokend_e in "${__tokend_exports[@]}"; do __tokend_args+=("--tracked=$__tokend_e"); done
          # The values come through this pipe only, and the code runs only if tokend succeeded.
          __tokend_code=$(command tokend export --shell=bash "${__tokend_args[@]}" "$@") || return
          eval "$__tokend_code"
        }

        __tokend_hook() {
          local __tokend_status=$? __tokend_now
          if (( ${__tokend_next:-0} > 0 )); then
            __tokend_now=${EPOCHSECONDS-}
            [[ -n $__tokend_now ]] || printf -v __tokend_now '%(%s)T' -1
            if (( __tokend_now >= __tokend_next )); then __tokend_expire "$__tokend_now"; fi
          fi
          return "$__tokend_status"
        }

        __tokend_expire() {
          local __tokend_e __tokend_new=0
          local -a __tokend_keep=()
          for __tokend_e in "${__tokend_exports[@]}"; do
            if (( ${__tokend_e#*=} <= $1 )); then
              unset -v "${__tokend_e%%=*}"
            else
              __tokend_keep+=("$__tokend_e")
              if (( __tokend_new == 0 || ${__tokend_e#*=} < __tokend_new )); then __tokend_new=${__tokend_e#*=}; fi
            fi
          done
          __tokend_exports=("${__tokend_keep[@]}")
          __tokend_next=$__tokend_new
        }

        # First in PROMPT_COMMAND, so the commands after it still see the status of the user's command.
        if [[ "${PROMPT_COMMAND[*]-}" != *__tokend_hook* ]]; then
          if declare -p PROMPT_COMMAND >/dev/null 2>&1 && [[ ${PROMPT_COMMAND@a} == *a* ]]; then
            PROMPT_COMMAND=(__tokend_hook "${PROMPT_COMMAND[@]}")
          elif [[ -n ${PROMPT_COMMAND-} ]]; then
            PROMPT_COMMAND="__tokend_hook"$'\n'"$PROMPT_COMMAND"
          else
            PROMPT_COMMAND=__tokend_hook
          fi
        fi

        """#

    static let zsh = #"""
        # tokend shell integration for zsh, from `tokend shell-init zsh`. Load it in ~/.zshrc:
        #   eval "$(tokend shell-init zsh)"
        # `tokend export` sets variables in this shell; the prompt hook unsets each at the first prompt
        # after its deadline without starting a process.

        zmodload zsh/datetime
        typeset -ga __tokend_exports
        typeset -gi __tokend_next

        tokend() {
          if [[ ${1-} != export ]]; then
            command tokend "$@"
            return
          fi
          shift
          emulate -L zsh
          local __tokend_code
          local -a __tokend_args
          __tokend_args=("${(@)__tokend_exports/#/--tracked=}")
          # The values come through this pipe only, and the code runs only if tokend succeeded.
          __tokend_code=$(command tokend export --shell=zsh "${__tokend_args[@]}" "$@") || return
          eval "$__tokend_code"
        }

        __tokend_hook() {
          local __tokend_status=$?
          emulate -L zsh
          if (( __tokend_next > 0 && EPOCHSECONDS >= __tokend_next )); then __tokend_expire $EPOCHSECONDS; fi
          return $__tokend_status
        }

        __tokend_expire() {
          emulate -L zsh
          local __tokend_e
          local -i __tokend_new=0
          local -a __tokend_keep
          for __tokend_e in "${__tokend_exports[@]}"; do
            if (( ${__tokend_e#*=} <= $1 )); then
              unset -v "${__tokend_e%%=*}"
            else
              __tokend_keep+=("$__tokend_e")
              if (( __tokend_new == 0 || ${__tokend_e#*=} < __tokend_new )); then __tokend_new=${__tokend_e#*=}; fi
            fi
          done
          __tokend_exports=("${__tokend_keep[@]}")
          __tokend_next=$__tokend_new
        }

        # First among the precmd hooks, so the ones after it still see the status of the user's command.
        precmd_functions=(__tokend_hook ${precmd_functions:#__tokend_hook})

        """#

    static let fish = #"""
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

        """#
}
