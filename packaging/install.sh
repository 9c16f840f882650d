#!/bin/sh
# Install a mrfrecon release (its wheel) into a prefix with its own venv, plus the service
# layout: systemd units, sysusers.d/tmpfiles.d entries, logrotate, and the configuration in
# /etc/mrfrecon (kept if present). See packaging/ADMIN.md.
#
#   packaging/install.sh [--wheel FILE] [--prefix /opt/mrfrecon] [--destdir DIR]
#                        [--python python3] [--find-links DIR] [--reuse-site DIR]...
#                        [--no-activate] [--no-warm]
#
# --destdir stages everything under DIR (DESTDIR-style, for packaging and CI): scripts in
# PREFIX/bin are rewritten to run from PREFIX once DIR is copied to /; nothing is activated.
# --find-links installs the dependencies offline from a folder of wheels (hospital networks).
# --reuse-site makes an existing environment's site-packages visible instead of installing
# the dependencies (development machines and CI: no network, no second torch).
# Without --destdir, as root on a systemd machine, the user and folders are created, the
# kernels compiled into /var/cache/mrfrecon and systemd reloaded (units are not enabled).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/mrfrecon
destdir=${DESTDIR:-}
python=${PYTHON:-python3}
wheel=
find_links=
reuse_sites=
activate=1
warm=1

die() { echo "install.sh: error: $*" >&2; exit 1; }
say() { echo "install.sh: $*" >&2; }

while [ $# -gt 0 ]; do
    case $1 in
        --wheel) wheel=${2:?}; shift 2 ;;
        --prefix) prefix=${2:?}; shift 2 ;;
        --destdir) destdir=${2:?}; shift 2 ;;
        --python) python=${2:?}; shift 2 ;;
        --find-links) find_links=${2:?}; shift 2 ;;
        --reuse-site) reuse_sites="$reuse_sites${2:?}
"; shift 2 ;;
        --no-activate) activate=0; shift ;;
        --no-warm) warm=0; shift ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done

case $prefix in /*) ;; *) die "--prefix must be absolute: '$prefix'" ;; esac
if [ -z "$wheel" ]; then
    # the newest wheel in dist/ of the source tree this script belongs to
    wheel=$(ls -t "$here"/../dist/mrfrecon-*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$wheel" ] || die "no wheel: pass --wheel FILE (build one: python3 -m pip wheel --no-deps . -w dist)"
fi
[ -f "$wheel" ] || die "wheel not found: '$wheel'"
command -v "$python" >/dev/null 2>&1 || die "python not found: '$python'"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "mrfrecon needs Python >= 3.11"

root=$destdir$prefix
venv_python=$root/bin/python

# 1. the venv (reused on upgrade) and the wheel in it
if [ ! -x "$venv_python" ]; then
    say "creating the venv in $root"
    "$python" -m venv "$root"
fi
pip_args="--disable-pip-version-check --no-input -q"
if [ -n "$reuse_sites" ]; then
    site=$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    printf '%s' "$reuse_sites" > "$site/mrfrecon-reused-site.pth"
    # the reused environment may hold a mrfrecon of its own: never skip or touch it
    pip_args="$pip_args --no-deps --no-index --ignore-installed"
elif [ -n "$find_links" ]; then
    pip_args="$pip_args --no-index --find-links $find_links"
fi
say "installing $(basename "$wheel")"
# shellcheck disable=SC2086 # word splitting of pip_args is intended
"$venv_python" -m pip install $pip_args --upgrade "$wheel"

# 2. scripts of a staged venv must run from the final prefix
if [ -n "$destdir" ]; then
    for script in "$root"/bin/*; do
        [ -f "$script" ] && [ ! -L "$script" ] || continue
        if head -n 1 "$script" | grep -q "^#!$root/bin/"; then
            sed -i "1s|^#!$root/bin/|#!$prefix/bin/|" "$script"
        fi
    done
fi

# 3. the service layout: units point at the prefix; an existing configuration is kept
install_file() {  # MODE SOURCE TARGET: copy with /opt/mrfrecon replaced by the prefix
    mkdir -p "$(dirname "$3")"
    sed "s|/opt/mrfrecon|$prefix|g" "$2" > "$3.tmp.$$"
    chmod "$1" "$3.tmp.$$"
    mv -f "$3.tmp.$$" "$3"
}
for unit in "$here"/systemd/*; do
    install_file 0644 "$unit" "$destdir/etc/systemd/system/$(basename "$unit")"
done
install_file 0644 "$here/sysusers.d/mrfrecon.conf" "$destdir/usr/lib/sysusers.d/mrfrecon.conf"
install_file 0644 "$here/tmpfiles.d/mrfrecon.conf" "$destdir/usr/lib/tmpfiles.d/mrfrecon.conf"
install_file 0644 "$here/logrotate/mrfrecon" "$destdir/etc/logrotate.d/mrfrecon"
install_file 0644 "$here/ADMIN.md" "$root/share/doc/mrfrecon/ADMIN.md"
for conf in mrfrecon.toml batch.env; do
    target=$destdir/etc/mrfrecon/$conf
    if [ -e "$target" ]; then
        install_file 0640 "$here/etc/$conf" "$target.new"
        say "kept $target (the release's version is in $target.new)"
    else
        install_file 0640 "$here/etc/$conf" "$target"
    fi
done

# 4. on the real machine: user, folders, compiled kernels, systemd
as_service=
if [ -z "$destdir" ] && [ "$activate" = 1 ] && [ "$(id -u)" = 0 ] && command -v systemctl >/dev/null 2>&1; then
    # commands run as the service runs them: its user, its cache
    as_service="runuser -u mrfrecon -- env MRFRECON_CACHE_DIR=/var/cache/mrfrecon HOME=/var/lib/mrfrecon"
    systemd-sysusers /usr/lib/sysusers.d/mrfrecon.conf
    systemd-tmpfiles --create /usr/lib/tmpfiles.d/mrfrecon.conf
    chgrp mrfrecon /etc/mrfrecon/mrfrecon.toml /etc/mrfrecon/batch.env
    if [ "$warm" = 1 ]; then
        say "compiling the kernels into /var/cache/mrfrecon (once per release, about a minute)"
        $as_service "$venv_python" -m mrfrecon doctor --warm >/dev/null
    fi
    systemctl daemon-reload
    say "enable the services you use: systemctl enable --now mrfrecon-serve.service"
    say "  or: systemctl enable --now mrfrecon-batch.path mrfrecon-batch.timer"
fi

# 5. the installed tool checks itself (version, shipped files, caches, tools)
say "checking the installation: $prefix/bin/mrfrecon doctor"
$as_service "$venv_python" -m mrfrecon doctor
say "installed mrfrecon $("$venv_python" -m mrfrecon --version | cut -d' ' -f2) in ${destdir:+$destdir}$prefix"
