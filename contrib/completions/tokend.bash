# bash completion for tokend. Install as /usr/share/bash-completion/completions/tokend (or
# ~/.local/share/bash-completion/completions/tokend), or source it from ~/.bashrc.
# Secret names come from `tokend ls`, which shows names and never values.

_tokend_names() {
  command tokend ls 2>/dev/null | awk 'NR > 1 { print $1 }'
}

# Sets COMPREPLY to the candidates that start with the word being completed ($1). bash replaces only the
# part of the word after its last COMP_WORDBREAKS character (`=` and `:` by default, both common here), so
# that part is trimmed from each candidate.
_tokend_reply() {
  local cur=$1 trim= c i
  shift
  for (( i = ${#cur} - 1; i >= 0; i-- )); do
    if [[ $COMP_WORDBREAKS == *"${cur:i:1}"* ]]; then trim=${cur:0:i+1}; break; fi
  done
  COMPREPLY=()
  for c in "$@"; do
    if [[ $c == "$cur"* ]]; then COMPREPLY+=("${c#"$trim"}"); fi
  done
}

# VAR=NAME: secret names once the `=` is typed.
_tokend_assignment() {
  local cur=$1 name
  local -a candidates=()
  if [[ $cur == *=* ]]; then
    while IFS= read -r name; do candidates+=("${cur%%=*}=$name"); done < <(_tokend_names)
  fi
  _tokend_reply "$cur" "${candidates[@]}"
}

_tokend() {
  # Words are split on blanks only: names and VAR=NAME keep their `=` and `:`.
  local -a words
  read -ra words <<< "${COMP_LINE:0:COMP_POINT}"
  if [[ ${COMP_LINE:0:COMP_POINT} == *[[:blank:]] ]]; then words+=(""); fi
  local cword=$(( ${#words[@]} - 1 ))
  local cur=${words[cword]} prev=${words[cword-1]-} i=1 command=
  while (( i < cword )); do
    case ${words[i]} in
      --socket) (( i += 2 )) ;;
      -*) (( i += 1 )) ;;
      *) command=${words[i]}; break ;;
    esac
  done
  if [[ -z $command ]]; then
    if [[ $prev == --socket ]]; then compopt -o filenames; COMPREPLY=($(compgen -f -- "$cur")); return; fi
    _tokend_reply "$cur" get put update rm ls exec export shell-init status stop init unlock lock migrate doctor \
      git-credential docker-credential --socket --help --version
    return
  fi
  case $prev in
    --owner|--expires|--note|--ttl|--passphrase-fd) COMPREPLY=(); return ;;
    --allow|--env-file|--passphrase-file) compopt -o filenames; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --to) _tokend_reply "$cur" file secret-service; return ;;
    -e|--env) _tokend_assignment "$cur"; return ;;
  esac
  case $command in
    get) _tokend_reply "$cur" $(_tokend_names) ;;
    put) _tokend_reply "$cur" --raw --owner --expires --note --allow $(_tokend_names) ;;
    update) _tokend_reply "$cur" --owner --expires --note --allow --allow-any $(_tokend_names) ;;
    rm) _tokend_reply "$cur" --owner $(_tokend_names) ;;
    ls) _tokend_reply "$cur" --owner --json $(_tokend_names) ;;
    exec)
      # Options end at `--` or at the first word that is not one; then it is the command's line.
      local j=$(( i + 1 ))
      while (( j < cword )); do
        case ${words[j]} in
          --) (( j += 1 )); break ;;
          -e|--env|--env-file) (( j += 2 )) ;;
          -*) (( j += 1 )) ;;
          *) break ;;
        esac
      done
      if (( j < cword )); then
        compopt -o filenames; COMPREPLY=($(compgen -f -- "$cur"))
      elif [[ $cur == -* ]]; then
        _tokend_reply "$cur" -e --env --env-file --only --
      else
        COMPREPLY=($(compgen -c -- "$cur"))
      fi
      ;;
    export)
      if [[ " ${words[*]:i+1:cword-i-1} " == *" --clear "* ]]; then
        _tokend_reply "$cur" "${__tokend_exports[@]%%=*}"
      elif [[ $cur == -* ]]; then
        _tokend_reply "$cur" --ttl --clear --list
      else
        _tokend_assignment "$cur"
      fi
      ;;
    shell-init) _tokend_reply "$cur" bash zsh fish ;;
    status) _tokend_reply "$cur" --json ;;
    init|unlock) _tokend_reply "$cur" --passphrase-fd --passphrase-file ;;
    migrate) _tokend_reply "$cur" --to --passphrase-fd --passphrase-file ;;
    git-credential) _tokend_reply "$cur" get store erase ;;
    docker-credential) _tokend_reply "$cur" store get erase list version ;;
    *) COMPREPLY=() ;;
  esac
}

complete -F _tokend tokend
