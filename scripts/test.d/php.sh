#!/usr/bin/env bash
# The MikoPBX module (module/): `php -l` on every PHP file of the module and of its tests,
# then PHPUnit (Debian's phpunit 9.6). PHPUnit's closing line carries the test count.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in php phpunit; do
    if ! command -v "$tool" >/dev/null; then
        echo "php.sh: $tool is not installed (apt-get install php-cli php-xml php-mbstring phpunit)" >&2
        exit 1
    fi
done

count=0
failed=0
while IFS= read -r -d '' f; do
    count=$((count + 1))
    if ! out=$(php -l "$f" 2>&1); then
        echo "$out" >&2
        failed=$((failed + 1))
    fi
done < <(find module tests/module/php -type f -name '*.php' -print0 | sort -z)

if [ "$count" -eq 0 ]; then
    echo "php.sh: no PHP files found under module/ and tests/module/php/" >&2
    exit 1
fi
if [ "$failed" -ne 0 ]; then
    echo "php -l: $failed of $count files have syntax errors" >&2
    exit 1
fi
echo "php -l: $count files, no syntax errors"

phpunit --configuration tests/module/php/phpunit.xml
