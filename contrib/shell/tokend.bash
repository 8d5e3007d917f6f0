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
