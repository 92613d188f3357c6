<?php
// MNET server stub for interoperability tests, run with PHP's built-in web server:
//
//   MNET_WWWROOT=http://127.0.0.1:8123 MNET_DIR=/tmp/stub [MNET_LOG=/tmp/stub.log] \
//   OPENSSL_CONF=$PWD/openssl-legacy.cnf php -S 127.0.0.1:8123 server.php
//
// MNET_DIR holds cert.pem + key.pem (created on first use when missing), peers/<sha1(wwwroot)>.pem (peer
// certificates learnt through system/keyswap) and optionally history/*.key.pem (older private keys: a
// request sealed to one of them is answered with fault 7025 carrying the current certificate).
// MNET_QUIRK (optional, comma-separated; also read on every request from the file MNET_DIR/quirks) makes
// signed answers deliberately wrong, for negative tests of clients: offset0 (<signedMessage> at byte 0),
// badsig (signed with a throwaway key), future (timestamp 60 s ahead); status500 answers HTTP 500.

declare(strict_types=1);
ini_set('display_errors', '0');   // never let a PHP notice corrupt an XML answer
ini_set('log_errors', '1');       // php -S prints logged errors on its console
require __DIR__ . '/mnetlib.php';

/** Diagnostics for the console of `php -S` (the cli-server SAPI has no STDERR constant). */
function stub_err(string $msg): void
{
    file_put_contents('php://stderr', $msg);
}

final class StubConfig
{
    public string $wwwroot;
    public string $dir;
    public ?string $log;
    /** @var array<string,bool> */
    public array $quirks = [];

    public function __construct()
    {
        $this->wwwroot = rtrim((string)getenv('MNET_WWWROOT'), '/');
        $this->dir = rtrim((string)getenv('MNET_DIR'), '/');
        $this->log = getenv('MNET_LOG') ?: null;
        if ($this->wwwroot === '' || $this->dir === '') {
            throw new RuntimeException('MNET_WWWROOT and MNET_DIR must be set');
        }
        $quirks = (string)getenv('MNET_QUIRK') . ',' . (string)@file_get_contents($this->dir . '/quirks');
        foreach (preg_split('/[\s,]+/', $quirks, -1, PREG_SPLIT_NO_EMPTY) as $q) {
            $this->quirks[$q] = true;
        }
        if (!is_file($this->dir . '/cert.pem') || !is_file($this->dir . '/key.pem')) {
            mnet_make_identity($this->wwwroot, $this->dir);
        }
    }

    public function cert(): string { return mnet_read_file($this->dir . '/cert.pem'); }
    public function key(): string { return mnet_read_file($this->dir . '/key.pem'); }

    /** @return string[] older private keys, newest first */
    public function historyKeys(): array
    {
        $files = glob($this->dir . '/history/*.key.pem') ?: [];
        usort($files, fn($a, $b) => filemtime($b) <=> filemtime($a) ?: strcmp($b, $a));
        return array_map('mnet_read_file', $files);
    }

    public function peerPath(string $wwwroot): string
    {
        return $this->dir . '/peers/' . sha1($wwwroot) . '.pem';
    }

    public function peerCert(?string $wwwroot): ?string
    {
        if ($wwwroot === null || $wwwroot === '') {
            return null;
        }
        $p = $this->peerPath($wwwroot);
        return is_file($p) ? mnet_read_file($p) : null;
    }
}

/** State of one request while it is unwrapped; decides how the answer is wrapped. */
final class Exchange
{
    public bool $encrypted = false;
    public bool $signed = false;
    public bool $signatureOk = false;
    public ?string $caller = null;       // envelope wwwroot (outer, else inner)
    public ?string $callerCert = null;   // certificate the answer is sealed to
    public ?string $signingKey = null;   // key the answer is signed with (old key for 7025)
    public ?string $method = null;
    public array $params = [];
    public ?int $fault = null;
    public ?string $note = null;
}

function stub_log(StubConfig $cfg, Exchange $x): void
{
    if ($cfg->log === null) {
        return;
    }
    $line = mnet_json([
        'time' => time(),
        'method' => $x->method,
        'params' => $x->params,
        'caller' => $x->caller,
        'encrypted' => $x->encrypted,
        'signed' => $x->signed,
        'signature_ok' => $x->signatureOk,
        'fault' => $x->fault,
    ] + ($x->note !== null ? ['note' => $x->note] : [])) . "\n";
    file_put_contents($cfg->log, $line, FILE_APPEND | LOCK_EX);
}

/** Wraps an XML-RPC answer the way the request was wrapped (sign iff signed, seal iff encrypted). */
function wrap_answer(StubConfig $cfg, Exchange $x, string $xmlrpc): string
{
    $q = $cfg->quirks;
    $out = $xmlrpc;
    if ($x->signed) {
        $key = $x->signingKey ?? $cfg->key();
        if (isset($q['badsig'])) {
            $tmp = openssl_pkey_new(['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA]);
            openssl_pkey_export($tmp, $key);
        }
        $out = mnet_sign_message($xmlrpc, $cfg->wwwroot, $key, time() + (isset($q['future']) ? 60 : 0));
        if (isset($q['offset0'])) {
            $out = ltrim(substr($out, strpos($out, '<signedMessage>')));
        }
    }
    if ($x->encrypted) {
        $out = mnet_encrypt_message($out, (string)$x->callerCert, $cfg->wwwroot);
    }
    return $out;
}

/** @return array{0:string,1:Exchange} the HTTP body and the request state */
function handle_post(StubConfig $cfg, string $body): array
{
    $x = new Exchange();
    $plainFault = function (int $code, string $msg) use ($x): array {
        $x->fault = $code;
        return [mnet_xmlrpc_fault($code, $msg), $x];
    };
    $fault = function (int $code, string $msg) use ($cfg, $x): array {
        $x->fault = $code;
        return [wrap_answer($cfg, $x, mnet_xmlrpc_fault($code, $msg)), $x];
    };

    $f = mnet_xml_fields(trim($body));
    if ($f === null) {
        return $plainFault(7000, 'Request is not well-formed XML');
    }
    $text = trim($body);

    // 1. encryption layer
    if ($f['CIPHERVALUE']) {
        $x->caller = $f['WWWROOT'];
        $x->callerCert = $cfg->peerCert($x->caller);
        if ($x->callerCert === null) {
            return $plainFault(7020, 'wrong-wwwroot: ' . (string)$x->caller . ' is not a known peer');
        }
        $dec = mnet_open_message($f, $cfg->key());
        $oldKey = null;
        if ($dec === null) {
            foreach ($cfg->historyKeys() as $k) {
                if (($dec = mnet_open_message($f, $k)) !== null) {
                    $oldKey = $k;
                    break;
                }
            }
        }
        if ($dec === null || ($inner = mnet_xml_fields(trim($dec))) === null) {
            return $plainFault(7023, 'encryption-invalid: the request could not be decrypted');
        }
        $x->encrypted = true;
        $text = trim($dec);
        $f = $inner;
    }

    // 2. signature layer
    if ($f['SIGNATUREVALUE'] !== null) {
        $x->signed = true;
        $inner = $f['WWWROOT'];
        $xmlrpc = mnet_b64decode($f['OBJECT']);
        $cert = $cfg->peerCert($inner);
        if ($cert !== null) {
            $x->signatureOk = mnet_verify($xmlrpc, $f['SIGNATUREVALUE'], $cert);
        }
        $x->caller ??= $inner;
    } else {
        $xmlrpc = $text;
    }

    // 3. request sealed to an archived key: tell the caller our current certificate
    if (isset($oldKey)) {
        $x->signingKey = $oldKey;
        [$x->method, $x->params] = mnet_xmlrpc_decode_call($xmlrpc);
        return $fault(7025, $cfg->cert());
    }

    // 4. decode
    [$method, $params] = mnet_xmlrpc_decode_call($xmlrpc);
    $x->method = $method;
    $x->params = $params;
    if ($method === null) {
        return $fault(7000, 'The request is not an XML-RPC methodCall');
    }
    $isKeyswap = $method === 'system/keyswap' || $method === 'system.keyswap';

    // 5./6. acceptance
    if (!$isKeyswap && !($x->encrypted && $x->signatureOk)) {
        if (!$x->encrypted) {
            return $fault(7021, 'forbidden-transport: unencrypted requests are not accepted');
        }
        if (!$x->signed) {
            return $fault(711, 'verifysignature-error: the request is not signed');
        }
        return $fault(710, 'verifysignature-invalid: the signature did not verify');
    }
    if (!preg_match('#^[A-Za-z0-9]+/[A-Za-z0-9/_.-]+(\.php/)?[A-Za-z0-9_-]+$#', $method) && !$isKeyswap) {
        return $fault(713, 'nosuchfunction: bad method name');
    }

    // 7. dispatch
    try {
        $result = dispatch($cfg, $x, $method, $params);
    } catch (RpcFault $e) {
        return $fault($e->getCode(), $e->getMessage());
    }
    return [wrap_answer($cfg, $x, mnet_xmlrpc_response($result)), $x];
}

final class RpcFault extends RuntimeException {}

function xml_esc($v): string
{
    if (is_bool($v)) {
        $v = $v ? '1' : '0';
    }
    return htmlspecialchars(is_scalar($v) ? (string)$v : '', ENT_XML1 | ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

function user_block($targetuser, $timefrom): string
{
    return "<USER>\n\t<USERNAME>" . xml_esc($targetuser) . "</USERNAME>\n\t<FIRSTNAME>Stub</FIRSTNAME>\n"
        . "\t<LASTNAME>Peer</LASTNAME>\n\t<FROM>" . xml_esc($timefrom) . "</FROM>\n\t<ELAPSED>42</ELAPSED>\n\n</USER>";
}

/** use_stats answers: a JSON string, or the struct itself when jsonresponse is false. */
function use_stats_answer(string $message, array $params, int $jsonIndex)
{
    $r = ['status' => 200, 'errors' => [], 'message' => $message];
    $json = !array_key_exists($jsonIndex, $params) || !empty($params[$jsonIndex]);
    return $json ? json_encode($r) : $r;
}

function dispatch(StubConfig $cfg, Exchange $x, string $method, array $params)
{
    $m = str_starts_with($method, 'system.') ? 'system/' . substr($method, 7) : $method;
    // block plugins: accept both the directory (blocks/) and the plugin type (block/) spelling
    $m = preg_replace('#^block/#', 'blocks/', $m);
    switch ($m) {
        case 'system/keyswap':
            [$wwwroot, $pem] = [(string)($params[0] ?? ''), (string)($params[1] ?? '')];
            $x->caller ??= $wwwroot;
            if ($wwwroot !== '' && mnet_cert_matches($pem, $wwwroot)) {
                if (!is_dir($cfg->dir . '/peers')) {
                    @mkdir($cfg->dir . '/peers', 0700, true);
                }
                mnet_write_file($cfg->peerPath($wwwroot), $pem);
            } else {
                $x->note = 'keyswap: caller certificate not recorded (not a certificate, or its CN/subjectAltName is not the wwwroot)';
                stub_err('mnet stub: ' . $x->note . ' for ' . $wwwroot . "\n");
            }
            mnet_openssl_errors();
            return $cfg->cert();
        case 'system/listServices':
            return [['name' => 'use_stats', 'apiversion' => '1', 'publish' => '1', 'subscribe' => '1']];
        case 'blocks/use_stats/rpclib.php/use_stats_rpc_get_stats':
            // (callinguser, targetuser, whereroot, statsscope, timefrom, jsonresponse)
            $msg = "<USE_STATS>\n" . user_block($params[1] ?? '', $params[4] ?? 0) . "\n</USE_STATS>";
            return use_stats_answer($msg, $params, 5);
        case 'blocks/use_stats/rpclib.php/use_stats_rpc_get_scores':
            // (callinguser, targetuser, whereroot, scorescope, courseidfield, courseidentifier, jsonresponse)
            $msg = "<USE_STATS>\n" . user_block($params[1] ?? '', 0) . "\n<SCORE>17.5</SCORE>\n</USE_STATS>";
            return use_stats_answer($msg, $params, 6);
    }
    if (str_starts_with($m, 'system/')) {
        throw new RpcFault('nosuchfunction: unknown system method ' . $method, 7018);
    }
    throw new RpcFault('nosuchfunction: ' . $method, 7012);
}

// ---------------------------------------------------------------------------------------------------

try {
    mnet_require_rc4();
    $cfg = new StubConfig();
} catch (Throwable $e) {
    stub_err('mnet stub: ' . $e->getMessage() . "\n");
    http_response_code(500);
    header('Content-Type: text/plain');
    echo 'mnet stub misconfigured: ' . $e->getMessage() . "\n";
    return true;
}

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
$verb = $_SERVER['REQUEST_METHOD'] ?? 'GET';

if ($path === '/mnet/publickey.php' && ($verb === 'GET' || $verb === 'HEAD')) {
    header('Content-Type: text/plain; charset=utf-8');
    echo $cfg->cert();
    return true;
}
if ($path === MNET_XMLRPC_PATH && $verb === 'POST') {
    try {
        [$answer, $x] = handle_post($cfg, (string)file_get_contents('php://input'));
    } catch (Throwable $e) {
        stub_err('mnet stub: ' . $e->getMessage() . "\n");
        $x = new Exchange();
        $x->fault = 7000;
        $answer = mnet_xmlrpc_fault(7000, 'unknownerror: ' . $e->getMessage());
    }
    stub_log($cfg, $x);
    http_response_code(isset($cfg->quirks['status500']) ? 500 : 200);
    header('Content-Type: text/xml; charset=utf-8');
    echo $answer;
    return true;
}
http_response_code(404);
header('Content-Type: text/plain');
echo "not found\n";
return true;
