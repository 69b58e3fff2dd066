#!/usr/bin/env bash
# flip_byte.bash FILE OFFSET [MASK]: XORs the byte at OFFSET with MASK (default 0x01)
# in place. Writing a fixed byte instead would change nothing when the file
# already holds it (1 time in 256 for a hash), and the test would fail at random.
set -euo pipefail
file=$1 offset=$2 mask=${3:-1}
size=$(stat -c %s "$file")
[ "$offset" -lt "$size" ] || { echo "flip_byte: offset $offset is past the end of $file ($size bytes)" >&2; exit 2; }
byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
printf "$(printf '\\x%02x' $((byte ^ mask)))" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
[ "$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')" -eq $((byte ^ mask)) ]
