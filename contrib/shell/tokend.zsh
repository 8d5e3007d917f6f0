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
