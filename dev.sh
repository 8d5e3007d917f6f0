#!/usr/bin/env bash
# tokend's two set-up commands (see README.md):
#   ./dev.sh run    install what is missing, build, install into $PREFIX (default ~/.local) and start the agent
#   ./dev.sh test   install what is missing, build, and run every test in a private D-Bus session with its own
#                   gnome-keyring, which it starts and stops itself
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages: build dependencies, the real tools the tests drive, and the shells for the shell hook.
PACKAGES=(pkgconf libssl-dev libsecret-1-dev libsecret-tools gnome-keyring dbus age expect zsh fish tmux
  socat strace git python3 util-linux systemd man-db groff-base procps)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! command -v swift >/dev/null; then
    if [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"
    else echo "dev.sh: no Swift toolchain found (expected swift on PATH or in /opt/swift)" >&2; exit 1; fi
  fi
}

case "${1:-}" in
  run)
    install_missing
    swift build -c release --disable-local-rpath
    bin="$(swift build -c release --disable-local-rpath --show-bin-path)"
    prefix="${PREFIX:-$HOME/.local}"
    install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/man/man7" "$prefix/share/man/man8"
    install -m 0755 "$bin/tokend" "$bin/tokend-agent" "$prefix/bin/"
    # tokend is also git's and docker's credential helper when run by these names.
    ln -sf tokend "$prefix/bin/git-credential-tokend"
    ln -sf tokend "$prefix/bin/docker-credential-tokend"
    install -m 0644 man/*.1 "$prefix/share/man/man1/"
    install -m 0644 man/*.7 "$prefix/share/man/man7/"
    install -m 0644 man/*.8 "$prefix/share/man/man8/"
    "$prefix/bin/tokend-agent"
    "$prefix/bin/tokend" status
    echo
    echo "Installed tokend and tokend-agent in $prefix/bin (add it to PATH if it is not there)."
    if "$prefix/bin/tokend" status --json | grep -q '"store":"file"'; then
      echo "No keyring answered, so the agent uses the encrypted file store: run 'tokend init' once."
    fi
    echo "Try: printf %s 'my-token' | tokend put demo/token && tokend get demo/token"
    ;;
  test)
    install_missing
    swift build --build-tests --disable-local-rpath
    export TOKEND_BIN_DIR="$(swift build --disable-local-rpath --show-bin-path)"
    exec scripts/with-keyring swift test --skip-build "${@:2}"
    ;;
  *)
    echo "usage: ./dev.sh run | ./dev.sh test [swift test options]" >&2
    exit 2
    ;;
esac
