#!/usr/bin/env bash
# Self-test of the PHP MNET client and server stub against each other.
# Usage: tools/php-interop/selftest.sh   (needs php with xmlrpc + curl + openssl: see .ci/php)
# Exits non-zero on the first mismatch.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OPENSSL_CONF="$HERE/openssl-legacy.cnf"
PHP="${PHP:-php}"

php_ok=$("$PHP" -r 'echo (in_array("rc4", openssl_get_cipher_methods(), true) && function_exists("xmlrpc_encode_request") && function_exists("curl_init")) ? "yes" : "no";')
if [ "$php_ok" != yes ]; then
  echo "FAIL: php lacks rc4 (legacy provider via OPENSSL_CONF=$OPENSSL_CONF), xmlrpc or curl" >&2
  exit 1
fi

T="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT

PASS=0
pass() { PASS=$((PASS + 1)); echo "ok   $*"; }
fail() {
  echo "FAIL $*" >&2
  [ -f "$T/server.err" ] && { echo "--- server stderr:" >&2; tail -n 20 "$T/server.err" >&2; }
  exit 1
}

# expect NAME JSON PHP-EXPR: evaluates PHP-EXPR with $j = the decoded JSON document (arrays).
expect() {
  local name="$1" json="$2" expr="$3"
  if J="$json" "$PHP" -r '$j = json_decode(getenv("J"), true); if (!is_array($j)) exit(3); exit((function($j) { return ('"$expr"'); })($j) ? 0 : 1);'; then
    pass "$name"
  else
    fail "$name: expected [$expr] in: $json"
  fi
}
client() { "$PHP" "$HERE/client.php" "$@"; }
# run a client command that must succeed (exit 0) and print its JSON
run_ok() { local out rc=0; out=$(client "$@") || rc=$?; [ $rc -eq 0 ] || fail "client $1 exited $rc: $out"; printf '%s' "$out"; }
# run a client command that must fail with exit 1
run_err() { local out rc=0; out=$(client "$@") || rc=$?; [ $rc -eq 1 ] || fail "client $1 should exit 1, got $rc: $out"; printf '%s' "$out"; }

PORT=$("$PHP" -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);')
BASE="http://127.0.0.1:$PORT"
SRV_WWW="$BASE"
CLI_WWW="http://client.test"
C="$T/client"; S="$T/server"

# --- identities ----------------------------------------------------------------------------------
out=$(run_ok identity "$CLI_WWW" "$C")
expect "identity: client cert" "$out" 'str_starts_with($j["cert"], "-----BEGIN CERTIFICATE-----") && $j["cert"] === file_get_contents("'"$C"'/cert.pem") && is_file("'"$C"'/key.pem")'
out=$(run_ok identity "$SRV_WWW" "$S")
expect "identity: DN as Moodle (CN, subjectAltName attribute, 2048-bit, 28 days, serial 0)" "$out" '
  ($i = openssl_x509_parse($j["cert"])) && $i["subject"]["CN"] === "'"$SRV_WWW"'" && ($i["subject"]["subjectAltName"] ?? null) === "'"$SRV_WWW"'"
  && $i["subject"]["OU"] === "Moodle" && $i["serialNumber"] === "0" && $i["validTo_time_t"] - $i["validFrom_time_t"] === 28 * 86400
  && openssl_pkey_get_details(openssl_pkey_get_public($j["cert"]))["bits"] === 2048 && $i["signatureTypeSN"] === "RSA-SHA256"'

# --- known-answer check against the shared lab vector (when available) ---------------------------
VEC="${MNET_VECTORS:-/work/shared/mnet-vectors}"
if [ -f "$VEC/request-A-to-B.encrypted.xml" ]; then
  out=$(V="$VEC" PHP_LIB="$HERE/mnetlib.php" "$PHP" -r 'require getenv("PHP_LIB"); $v = getenv("V");
    $f = mnet_xml_fields(file_get_contents("$v/request-A-to-B.encrypted.xml"));
    $dec = mnet_open_message($f, file_get_contents("$v/peerB-moodle-b.test.key"));
    $x = file_get_contents("$v/request-A-to-B.xmlrpc.xml");
    echo json_encode(["open" => $dec === file_get_contents("$v/request-A-to-B.signed.xml"),
      "resign" => mnet_sign_message($x, "http://moodle-a.test", file_get_contents("$v/peerA-moodle-a.test.key"), 1767225600) === $dec]);')
  expect "lab vector: opens and re-signs byte-exactly" "$out" '$j["open"] === true && $j["resign"] === true'
else
  echo "skip lab vector ($VEC not found)"
fi

# --- server ------------------------------------------------------------------------------------
MNET_WWWROOT="$SRV_WWW" MNET_DIR="$S" MNET_LOG="$T/server.log" \
  "$PHP" -S "127.0.0.1:$PORT" "$HERE/server.php" >"$T/server.out" 2>"$T/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if "$PHP" -r 'exit(@file_get_contents($argv[1]) === false ? 1 : 0);' "$BASE/mnet/publickey.php"; then break; fi
  sleep 0.1
done
pk=$("$PHP" -r 'echo json_encode(["pem" => @file_get_contents($argv[1])]);' "$BASE/mnet/publickey.php")
expect "GET /mnet/publickey.php serves the server cert" "$pk" '$j["pem"] === file_get_contents("'"$S"'/cert.pem")'

# --- keyswap -------------------------------------------------------------------------------------
out=$(run_ok keyswap "$BASE" "$CLI_WWW" "$C/cert.pem")
expect "keyswap returns server cert + CN" "$out" '$j["cert"] === file_get_contents("'"$S"'/cert.pem") && $j["cn"] === "'"$SRV_WWW"'" && count($j) === 2'
expect "keyswap recorded the caller under peers/" "{}" 'file_get_contents("'"$S"'/peers/" . sha1("'"$CLI_WWW"'") . ".pem") === file_get_contents("'"$C"'/cert.pem")'
J="$out" "$PHP" -r 'file_put_contents($argv[1], json_decode(getenv("J"), true)["cert"]);' "$C/server.pem"

call() { client call "$BASE" "$CLI_WWW" "$C/cert.pem" "$C/key.pem" "$C/server.pem" "$@"; }
call_ok() { local out rc=0; out=$(call "$@") || rc=$?; [ $rc -eq 0 ] || fail "call $1 exited $rc: $out"; printf '%s' "$out"; }
call_err() { local out rc=0; out=$(call "$@") || rc=$?; [ $rc -eq 1 ] || fail "call $1 should exit 1, got $rc: $out"; printf '%s' "$out"; }

# --- envelope calls ------------------------------------------------------------------------------
out=$(call_ok system/listServices '[]')
expect "system/listServices" "$out" '$j["response"] === [["name" => "use_stats", "apiversion" => "1", "publish" => "1", "subscribe" => "1"]]
  && $j["rekeyed"] === false && $j["signed"] === true && $j["encrypted"] === true && count($j) === 4'

CALLER='{"username":"jdoe","remoteuserhostroot":"'"$CLI_WWW"'","remotehostroot":"'"$CLI_WWW"'"}'
out=$(call_ok blocks/use_stats/rpclib.php/use_stats_rpc_get_stats '['"$CALLER"',"stud<&>ent1","'"$SRV_WWW"'","1",1700000000,true]')
expect "use_stats_rpc_get_stats (jsonresponse=true) returns a JSON string" "$out" 'is_string($j["response"])
  && ($r = json_decode($j["response"], true)) && $r["status"] === 200 && $r["errors"] === []
  && $r["message"] === "<USE_STATS>\n<USER>\n\t<USERNAME>stud&lt;&amp;&gt;ent1</USERNAME>\n\t<FIRSTNAME>Stub</FIRSTNAME>\n\t<LASTNAME>Peer</LASTNAME>\n\t<FROM>1700000000</FROM>\n\t<ELAPSED>42</ELAPSED>\n\n</USER>\n</USE_STATS>"'

out=$(call_ok blocks/use_stats/rpclib.php/use_stats_rpc_get_stats '['"$CALLER"',"student1","'"$SRV_WWW"'","1",0,false]')
expect "use_stats_rpc_get_stats (jsonresponse=false) returns a struct" "$out" 'is_array($j["response"])
  && $j["response"]["status"] === 200 && $j["response"]["errors"] === [] && str_contains($j["response"]["message"], "<USERNAME>student1</USERNAME>")'

out=$(call_ok blocks/use_stats/rpclib.php/use_stats_rpc_get_scores '['"$CALLER"',"student1","'"$SRV_WWW"'","notes/global","shortname","C1",true]')
expect "use_stats_rpc_get_scores" "$out" '($r = json_decode($j["response"], true)) && $r["status"] === 200
  && str_contains($r["message"], "<SCORE>17.5</SCORE>\n</USE_STATS>") && str_contains($r["message"], "<USERNAME>student1</USERNAME>")'

out=$(call_ok block/use_stats/rpclib.php/use_stats_rpc_get_scores '['"$CALLER"',"student1","'"$SRV_WWW"'"]')
expect "block/ spelling accepted as alias" "$out" 'str_contains(json_decode($j["response"], true)["message"], "<SCORE>17.5</SCORE>")'

out=$(call_ok mod/nothing/rpclib.php/nothing '[1,"x",{"a":true}]')
expect "unknown method -> signed+encrypted fault 7012" "$out" '$j["fault"]["code"] === 7012 && $j["signed"] === true && $j["encrypted"] === true && $j["rekeyed"] === false'

out=$(call_ok system/nothing '[]')
expect "unknown system method -> fault 7018" "$out" '$j["fault"]["code"] === 7018 && $j["encrypted"] === true'

out=$(call_ok system/listServices '[]' --no-encrypt)
expect "signed-only request -> fault 7021, signed, not encrypted" "$out" '$j["fault"]["code"] === 7021 && $j["signed"] === true && $j["encrypted"] === false'

# encrypted to the wrong certificate: the server cannot decrypt -> plain 7023 reported as data
out=$(client call "$BASE" "$CLI_WWW" "$C/cert.pem" "$C/key.pem" "$C/cert.pem" system/listServices '[]') || fail "call with wrong server cert: $out"
expect "request sealed to the wrong key -> plain fault 7023" "$out" '$j["fault"]["code"] === 7023 && $j["signed"] === false && $j["encrypted"] === false'

# --- raw / tampered requests ---------------------------------------------------------------------
env_json=$(run_ok envelope "$CLI_WWW" "$C/key.pem" "$C/server.pem" system/listServices '[]')
tamper() { # tamper MODE < envelope json > file
  J="$env_json" "$PHP" -r '$b = json_decode(getenv("J"), true)["body"]; $m = $argv[1];
    if ($m === "key") { $b = preg_replace_callback("#(<CipherValue>)([^<]*)(</CipherValue>\s*</CipherData>\s*<ReferenceList>)#", fn($x) => $x[1] . base64_encode(random_bytes(256)) . $x[3], $b, 1, $n); if ($n !== 1) exit(1); }
    if ($m === "wwwroot") { $b = str_replace("<wwwroot>http://client.test</wwwroot>", "<wwwroot>http://stranger.test</wwwroot>", $b); }
    if ($m === "garbage") { $b = "this is not xml"; }
    echo $b;' "$1"
}
tamper key >"$T/bad-key.xml"
out=$(run_ok raw "$BASE" "$T/bad-key.xml")
expect "raw: corrupted wrapped key -> HTTP 200, plain fault 7023" "$out" '$j["status"] === 200 && !str_contains($j["body"], "CipherValue")
  && ($v = xmlrpc_decode($j["body"], "utf-8")) && xmlrpc_is_fault($v) && $v["faultCode"] === 7023'
tamper wwwroot >"$T/bad-www.xml"
out=$(run_ok raw "$BASE" "$T/bad-www.xml")
expect "raw: unknown envelope wwwroot -> plain fault 7020" "$out" '$j["status"] === 200 && ($v = xmlrpc_decode($j["body"], "utf-8")) && xmlrpc_is_fault($v) && $v["faultCode"] === 7020'
tamper garbage >"$T/bad-xml.xml"
out=$(run_ok raw "$BASE" "$T/bad-xml.xml")
expect "raw: not XML -> plain fault" "$out" '$j["status"] === 200 && ($v = xmlrpc_decode($j["body"], "utf-8")) && xmlrpc_is_fault($v)'

# bad signature inside a valid envelope -> 710, signed and sealed to the caller
PHP_LIB="$HERE/mnetlib.php" "$PHP" -r 'require getenv("PHP_LIB");
  $x = xmlrpc_encode_request("system/listServices", [], MNET_XMLRPC_OPTS);
  $other = openssl_pkey_new(["private_key_bits" => 2048, "private_key_type" => OPENSSL_KEYTYPE_RSA]); openssl_pkey_export($other, $otherPem);
  echo mnet_encrypt_message(mnet_sign_message($x, $argv[1], $otherPem), file_get_contents($argv[2]), $argv[1]);' \
  "$CLI_WWW" "$C/server.pem" >"$T/bad-sig.xml"
out=$(run_ok raw "$BASE" "$T/bad-sig.xml")
out=$(J="$out" PHP_LIB="$HERE/mnetlib.php" "$PHP" -r 'require getenv("PHP_LIB"); $j = json_decode(getenv("J"), true);
  $f = mnet_xml_fields(trim($j["body"])); $d = mnet_open_message($f, file_get_contents($argv[1])); $s = mnet_xml_fields($d);
  $x = mnet_b64decode($s["OBJECT"]); $v = xmlrpc_decode($x, "utf-8");
  echo json_encode(["code" => $v["faultCode"] ?? null, "sig" => mnet_verify($x, $s["SIGNATUREVALUE"], file_get_contents($argv[2])), "pos" => strpos($d, "<signedMessage>")]);' \
  "$C/key.pem" "$C/server.pem")
expect "raw: forged signature -> fault 710, signed by server, sealed to caller, root at offset 48" "$out" '$j["code"] === 710 && $j["sig"] === true && $j["pos"] === 48'

# --- server log ----------------------------------------------------------------------------------
logj=$("$PHP" -r '$l = array_map(fn($s) => json_decode($s, true), file($argv[1], FILE_IGNORE_NEW_LINES)); echo json_encode($l);' "$T/server.log")
expect "server log has one JSON line per request with method/params/caller" "$logj" '
  count($j) === 14 && $j[0]["method"] === "system/keyswap" && $j[0]["caller"] === "'"$CLI_WWW"'"
  && $j[1]["method"] === "system/listServices" && $j[1]["caller"] === "'"$CLI_WWW"'" && $j[1]["encrypted"] === true
  && $j[2]["params"][1] === "stud<&>ent1" && $j[2]["params"][4] === 1700000000 && $j[2]["params"][0]["username"] === "jdoe"'

# --- client-side checks with a misbehaving server ------------------------------------------------
for q in "offset0:Payload not signed" "badsig:Invalid signature" "future:Time gap" "status500:HTTP status 500"; do
  echo "${q%%:*}" >"$S/quirks"
  out=$(call_err system/listServices '[]')
  expect "client rejects quirk ${q%%:*} (${q#*:})" "$out" 'str_contains($j["error"], "'"${q#*:}"'") && count($j) === 1'
done
rm -f "$S/quirks"

# --- key rotation: 7025 and resend ----------------------------------------------------------------
mkdir -p "$S/history"
mv "$S/key.pem" "$S/history/old.key.pem"; mv "$S/cert.pem" "$S/history/old.cert.pem"
run_ok identity "$SRV_WWW" "$S" >/dev/null
out=$(call_ok system/listServices '[]')
expect "request sealed to the server's old key -> 7025, cert replaced, resent once" "$out" '$j["rekeyed"] === true && $j["response"][0]["name"] === "use_stats"
  && file_get_contents("'"$C"'/server.pem") === file_get_contents("'"$S"'/cert.pem")'
out=$(call_ok system/listServices '[]')
expect "next call uses the new cert without re-keying" "$out" '$j["rekeyed"] === false && $j["encrypted"] === true'

# --- keyswap with a certificate that does not name the caller: answered, not recorded ------------
out=$(run_ok keyswap "$BASE" "http://other.test" "$C/cert.pem")
expect "keyswap with a mismatching cert is answered but not recorded" "$out" '$j["cert"] === file_get_contents("'"$S"'/cert.pem")
  && !file_exists("'"$S"'/peers/" . sha1("http://other.test") . ".pem")
  && str_contains(json_decode(array_slice(file("'"$T"'/server.log"), -1)[0], true)["note"] ?? "", "not recorded")'

# --- use_stats report reader: both scope-3 layouts, escaped text, strict structure --------------
US_USER=$'<USER>\n\t<USERNAME>a&amp;b</USERNAME>\n\t<FIRSTNAME>A</FIRSTNAME>\n\t<LASTNAME>O&#39;B</LASTNAME>\n\t<FROM>0</FROM>\n\t<ELAPSED>40</ELAPSED>\n\n</USER>'
US_MOD=$'<MODULES>\n<MODULE>\n\t<NAME>R &lt;1&gt; &amp; &#34;q&#34;</NAME>\n\t<TYPE>page</TYPE>\n\t<IDNUMBER>P&amp;1</IDNUMBER>\n\t<ELAPSED>34</ELAPSED>\n\n</MODULE>\n\n</MODULES>\n'
US_COURSE=$'<COURSE>\n\t<NAME>C &lt;1&gt;</NAME>\n\t<SHORTNAME>C1</SHORTNAME>\n\t<IDNUMBER></IDNUMBER>\n\t<ELAPSED>38</ELAPSED>\n'
out=$(run_ok stats $'<USE_STATS>\n'"$US_USER$US_MOD"$'\n</USE_STATS>')
expect "stats: published layout (MODULES under USE_STATS), text unescaped" "$out" '($r = $j["report"])["layout"] === "published"
  && $r["courses"] === [] && $r["user"]["username"] === "a&b" && $r["user"]["lastname"] === "O'"'"'B" && $r["user"]["elapsed"] === 40
  && $r["modules"] === [["name" => "R <1> & \"q\"", "type" => "page", "idnumber" => "P&1", "elapsed" => 34]]'
nested=$'<USE_STATS>\n'"$US_USER"$'<COURSES>\n'"$US_COURSE$US_MOD"$'\n</COURSE>\n\n</COURSES>\n\n</USE_STATS>'
out=$(run_ok stats "$("$PHP" -r 'echo json_encode(["status" => 200, "errors" => [], "message" => $argv[1]]);' "$nested")")
expect "stats: nested layout (MODULES in COURSE), read from the JSON answer" "$out" '($r = $j["report"])["layout"] === "nested"
  && $r["modules"] === [] && $r["courses"][0]["name"] === "C <1>" && $r["courses"][0]["modules"][0]["elapsed"] === 34'
out=$(run_err stats $'<USE_STATS>\n'"$US_USER"$'<COURSES>\n'"$US_COURSE$US_MOD"$'\n</COURSE>\n\n</COURSES>\n'"$US_MOD"$'\n</USE_STATS>')
expect "stats: MODULES in both places is refused" "$out" 'str_contains($j["error"], "both")'
out=$(run_err stats '<USE_STATS><USER><USERNAME>a & b</USERNAME></USER></USE_STATS>')
expect "stats: an unescaped & is refused" "$out" 'str_contains($j["error"], "well-formed")'

# --- usage ---------------------------------------------------------------------------------------
rc=0; out=$(client call "$BASE") || rc=$?
[ $rc -eq 2 ] || fail "usage error should exit 2, got $rc"
expect "usage error is a JSON error" "$out" 'str_starts_with($j["error"], "usage:")'

echo "selftest: $PASS checks passed"
