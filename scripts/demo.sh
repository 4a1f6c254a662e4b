#!/usr/bin/env bash
# Sets up, builds (Release, into build/) and runs the main job: a custos
# server on embedded storage plus a demo against it.
#   scripts/demo.sh            leaves the server running until Ctrl-C
#   scripts/demo.sh --no-wait  stops the server when the demo is done
# Environment: CUSTOS_DEMO_DATA (default build/demo-data, recreated each run),
#              CUSTOS_DEMO_LISTEN (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

wait_for_ctrl_c=1
for arg in "$@"; do
  case "$arg" in
    --no-wait) wait_for_ctrl_c=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
echo "demo: building (Release) ..."
scripts/build.sh release

custos=build/src/cli/custos
data=${CUSTOS_DEMO_DATA:-build/demo-data}
listen=${CUSTOS_DEMO_LISTEN:-127.0.0.1:8080}
rm -rf "$data"

secrets="$data.secrets"   # credentials and keys of the demo's principals (mode 0700)
rm -rf "$secrets"
mkdir -m 700 -p "$secrets"

echo
echo "== custos init: a data directory with a log key and the first admin (password + TOTP)"
"$custos" init --data "$data" --origin demo.custos.local/log \
  --credentials-out "$secrets/admin.credentials"

# The demo site: Rotterdam, open around the clock, with a 2 km geofence; its
# dock door 4 (GLN 0614141000043) is in zone dock-a.
config="$secrets/custos.toml"
cat > "$config" <<'TOML'
[sites.rotterdam]
utc_offset = "+01:00"
hours = "00-24"
geofence = "51.9500,4.1400,2000"

[sites.rotterdam.locations]
"urn:epc:id:sgln:0614141.00004.0" = "dock-a"
TOML

ready="$data/ready"
"$custos" serve --data "$data" --config "$config" --listen "$listen" --ready-file "$ready" \
  --log-level warn &
server_pid=$!
stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT
for _ in $(seq 1 100); do
  [ -s "$ready" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "demo: the server did not start" >&2; exit 1; }
  sleep 0.1
done
url="http://$(cat "$ready")"
echo "demo: server ready at $url"

vkey=$(cat "$data/log.vkey")

echo
echo "== the admin logs in (password + TOTP) and registers a dock-door controller"
"$custos" login --url "$url" --credentials "$secrets/admin.credentials" --save "$secrets/admin.session"
"$custos" principal add dock-door-4 --kind device --subtype door_controller \
  --site rotterdam --zone dock-a --vendor acme-doors --url "$url" --token-file "$secrets/admin.session"
"$custos" principal enroll dock-door-4 --ttl 600 --out "$secrets/dock-door-4.enroll" \
  --url "$url" --token-file "$secrets/admin.session"

echo
echo "== the device makes its own key pair and enrolls it (proof of possession; the key never leaves it)"
"$custos" enroll --url "$url" --principal dock-door-4 --token-file "$secrets/dock-door-4.enroll" \
  --key-out "$secrets/dock-door-4.key"

echo
echo "== the device appends custody entries, every request signed (RFC 9421) with its posture and position"
device=(--url "$url" --key-file "$secrets/dock-door-4.key" --posture healthy --geo 51.9512,4.1420)
for payload in \
  'dock-door 4 opened by badge 1187 at DC-Rotterdam' \
  'pallet urn:epc:id:sscc:0614141.1234567890 loaded on trailer NL-42-XK' \
  'seal 88213 applied to trailer NL-42-XK' \
  'trailer NL-42-XK departed DC-Rotterdam'; do
  "$custos" log append "${device[@]}" --vkey "$vkey" "$payload"
done

echo
echo "== the device captures an EPCIS 2.0 document (pack 3 cases on a pallet, load, ship):"
echo "   one signed request, validated, authorised per event, committed in one group commit"
shipment="$PWD/docs/examples/epcis/dock4-shipment.jsonld"
"$custos" epcis capture "$shipment" "${device[@]}" --vkey "$vkey"
echo "== capturing the same document again is acknowledged, not logged twice"
"$custos" epcis capture "$shipment" "${device[@]}" --vkey "$vkey"
echo "== the admin asks where the pallet has been (EPCIS query by SSCC, with proofs)"
curl -fsS -H "Authorization: Bearer $(cat "$secrets/admin.session")" \
  "$url/events?MATCH_epc=urn%3Aepc%3Aid%3Asscc%3A0614141.1234567890&proof=true" |
  head -c 600
echo " ..."
echo "== the chain of custody of one case: its own packing, then the pallet it rode on;"
echo "   every step checked against the signed checkpoint (and saved for offline checks)"
"$custos" trace urn:epc:id:sgtin:0614141.107346.2018 --url "$url" \
  --token-file "$secrets/admin.session" --vkey "$vkey" --verify --out "$data/trace.json"
echo "== offline, from the saved file: verified again; a copy with one custodian changed is refused"
"$custos" trace --file "$data/trace.json" --vkey "$vkey" --verify | tail -1
sed 's/"custodian":"dock-door-4"/"custodian":"someone-else"/' "$data/trace.json" > "$data/trace-tampered.json"
if "$custos" trace --file "$data/trace-tampered.json" --vkey "$vkey" --verify; then
  echo "demo: the tampered trace verified" >&2; exit 1
fi

echo
echo "== the same device reporting a position 40 km away is refused by policy (403, decision id)"
if "$custos" log append --url "$url" --key-file "$secrets/dock-door-4.key" --posture healthy \
     --geo 52.3000,4.1400 --vkey "$vkey" 'door 4 opened (from far away?)'; then
  echo "demo: expected a refusal" >&2; exit 1
fi

echo
echo "== the admin suspends the device: its very next request is refused (401 principal_suspended)"
"$custos" principal suspend dock-door-4 --reason "demo: tamper alarm on door 4" \
  --url "$url" --token-file "$secrets/admin.session"
if "$custos" log append "${device[@]}" --vkey "$vkey" 'door 4 opened after suspension'; then
  echo "demo: expected a refusal" >&2; exit 1
fi

echo
echo "== two-person rule: the admin changes the policy set only with a security officer's approval"
printf 'correct horse battery staple\n' > "$secrets/sam.password"
chmod 600 "$secrets/sam.password"
"$custos" principal add sam --kind user --role security --password-file "$secrets/sam.password" \
  --credentials-out "$secrets/sam.credentials" --url "$url" --token-file "$secrets/admin.session"
"$custos" login --url "$url" --credentials "$secrets/sam.credentials" --save "$secrets/sam.session"
mkdir -p "$secrets/policies"
cp docs/policies/*.cedar "$secrets/policies/"
cat > "$secrets/policies/60-night-shift.cedar" <<'CEDAR'
// Night-shift supervisors may query custody events.
@id("query-night-supervisor")
permit (principal is Custos::User, action == Custos::Action::"query", resource)
when { principal has roles && principal.roles.contains("night_supervisor") };
CEDAR
"$custos" policy check "$secrets/policies"
if "$custos" policy push "$secrets/policies" --url "$url" --token-file "$secrets/admin.session"; then
  echo "demo: expected the two-person rule to refuse" >&2; exit 1
fi
approval=$("$custos" approve --requester admin --action policy.change \
  --resource-type Custos::Policy --resource-id active --url "$url" --token-file "$secrets/sam.session")
echo "sam approved: $approval"
"$custos" policy push "$secrets/policies" --approval "$approval" --url "$url" \
  --token-file "$secrets/admin.session"
"$custos" policy list --url "$url"
"$custos" policy diff 1 current --url "$url" || true

echo
echo "== a verified inclusion proof for entry 7 (the device's first) against the latest checkpoint"
"$custos" log proof 7 --url "$url" --vkey "$vkey"

echo
echo "== the signed checkpoint (C2SP tlog-checkpoint)"
curl -fsS "$url/checkpoint"

echo
echo "== remote audit (a witness's core): verify signature and consistency with the last run"
"$custos" audit --url "$url" --state "$data/audit.state" --vkey "$vkey"

echo
echo "== offline audit of the data directory (read-only, beside the running server)"
"$custos" verify --data "$data" --quiet

if [ "$wait_for_ctrl_c" = 1 ]; then
  echo
  echo "demo: the server keeps running at $url; press Ctrl-C to stop it."
  wait "$server_pid"
fi
