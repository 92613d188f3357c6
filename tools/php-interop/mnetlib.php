<?php
// Independent PHP implementation of the MNET envelope (signed + RC4-sealed XML-RPC), written for the
// interoperability tests of the Go project. It uses the same PHP primitives a Moodle peer uses
// (PECL xmlrpc, openssl_sign/verify with SHA-1, openssl_seal/open with RC4) but shares no code with Moodle.
//
// Run every script with OPENSSL_CONF pointing at openssl-legacy.cnf (next to this file); RC4 lives in
// OpenSSL 3's legacy provider.

declare(strict_types=1);

require_once __DIR__ . '/xmlread.php';

const MNET_DRIFT_THRESHOLD = 15;          // seconds a responder's clock may be ahead of ours
const MNET_XMLRPC_PATH = '/mnet/xmlrpc/server.php';
const MNET_XMLRPC_OPTS = ['encoding' => 'utf-8', 'escaping' => 'markup'];

/** Throws unless OpenSSL offers RC4 (legacy provider loaded). */
function mnet_require_rc4(): void
{
    if (!function_exists('openssl_seal') || !function_exists('xmlrpc_encode_request')) {
        throw new RuntimeException('PHP lacks the openssl or xmlrpc extension (run .ci/php)');
    }
    if (!in_array('rc4', openssl_get_cipher_methods(), true)) {
        throw new RuntimeException('OpenSSL has no rc4 cipher: run php with OPENSSL_CONF=' . __DIR__
            . '/openssl-legacy.cnf (current OPENSSL_CONF=' . (getenv('OPENSSL_CONF') ?: '(unset)') . ')');
    }
}

/** Collects and clears the OpenSSL error queue into one string. */
function mnet_openssl_errors(): string
{
    $errs = [];
    while (($e = openssl_error_string()) !== false) {
        $errs[] = $e;
    }
    return implode('; ', $errs);
}

// ---------------------------------------------------------------------------------------------------
// Identity

/**
 * Creates a self-signed identity for $wwwroot the way a Moodle peer does (2048-bit RSA, sha256, 28 days,
 * serial 0, the wwwroot as CN and as the non-standard subjectAltName DN attribute) and writes
 * $dir/cert.pem and $dir/key.pem. Returns the certificate PEM.
 */
function mnet_make_identity(string $wwwroot, string $dir, int $days = 28): string
{
    if (!is_dir($dir) && !mkdir($dir, 0700, true) && !is_dir($dir)) {
        throw new RuntimeException("cannot create $dir");
    }
    $wwwroot = rtrim($wwwroot, '/');
    $host = parse_url($wwwroot, PHP_URL_HOST) ?: 'localhost';
    $dn = [
        'countryName' => 'NZ',
        'stateOrProvinceName' => 'Wellington',
        'localityName' => 'Wellington',
        'organizationName' => substr('PHP interop peer ' . $host, 0, 64),
        'organizationalUnitName' => 'Moodle',
        'commonName' => substr($wwwroot, 0, 64),
        'subjectAltName' => $wwwroot,
        'emailAddress' => 'noreply@' . $host,
    ];
    $cfg = ['private_key_bits' => 2048, 'private_key_type' => OPENSSL_KEYTYPE_RSA, 'digest_alg' => 'sha256'];
    $key = openssl_pkey_new($cfg);
    if ($key === false) {
        throw new RuntimeException('openssl_pkey_new failed: ' . mnet_openssl_errors());
    }
    $csr = openssl_csr_new($dn, $key, $cfg);
    if ($csr === false) {
        // Some OpenSSL builds refuse the non-standard DN attribute: retry without it.
        mnet_openssl_errors();
        unset($dn['subjectAltName']);
        $csr = openssl_csr_new($dn, $key, $cfg);
    }
    if ($csr === false) {
        throw new RuntimeException('openssl_csr_new failed: ' . mnet_openssl_errors());
    }
    $cert = openssl_csr_sign($csr, null, $key, $days, $cfg, 0);
    if ($cert === false) {
        throw new RuntimeException('openssl_csr_sign failed: ' . mnet_openssl_errors());
    }
    if (!openssl_x509_export($cert, $certPem) || !openssl_pkey_export($key, $keyPem)) {
        throw new RuntimeException('export failed: ' . mnet_openssl_errors());
    }
    mnet_write_file($dir . '/cert.pem', $certPem);
    mnet_write_file($dir . '/key.pem', $keyPem, 0600);
    return $certPem;
}

function mnet_write_file(string $path, string $data, int $mode = 0644): void
{
    $tmp = $path . '.tmp' . getmypid();
    if (file_put_contents($tmp, $data) !== strlen($data) || !chmod($tmp, $mode) || !rename($tmp, $path)) {
        @unlink($tmp);
        throw new RuntimeException("cannot write $path");
    }
}

function mnet_read_file(string $path): string
{
    $s = @file_get_contents($path);
    if ($s === false) {
        throw new RuntimeException("cannot read $path");
    }
    return $s;
}

/** Subject CN of a certificate PEM, or null. */
function mnet_cert_cn(string $pem): ?string
{
    $info = @openssl_x509_parse($pem);
    mnet_openssl_errors();
    if (!is_array($info) || !isset($info['subject']['CN'])) {
        return null;
    }
    $cn = $info['subject']['CN'];
    return is_array($cn) ? (string)end($cn) : (string)$cn;
}

/**
 * Moodle's acceptance rule for a peer certificate: CN equals the first 64 characters of the wwwroot and,
 * when the non-standard subjectAltName DN attribute is present, it equals the wwwroot.
 */
function mnet_cert_matches(string $pem, string $wwwroot): bool
{
    $info = @openssl_x509_parse($pem);
    mnet_openssl_errors();
    if (!is_array($info) || @openssl_pkey_get_public($pem) === false) {
        mnet_openssl_errors();
        return false;
    }
    $subject = $info['subject'] ?? [];
    $cn = $subject['CN'] ?? null;
    if (!is_string($cn) || $cn !== substr(rtrim($wwwroot, '/'), 0, 64)) {
        return false;
    }
    $alt = $subject['subjectAltName'] ?? null;
    return $alt === null || $alt === $wwwroot || $alt === rtrim($wwwroot, '/');
}

/** True when $pem is a single certificate in the canonical form (64-column base64, trailing newline). */
function mnet_pem_is_canonical(string $pem): bool
{
    if (!preg_match('/^-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+\/=\s]+?)\s*-----END CERTIFICATE-----\s*$/', $pem, $m)) {
        return false;
    }
    $b64 = preg_replace('/\s+/', '', $m[1]);
    $canon = "-----BEGIN CERTIFICATE-----\n" . chunk_split($b64, 64, "\n") . "-----END CERTIFICATE-----\n";
    return rtrim($canon) === rtrim($pem);
}

// ---------------------------------------------------------------------------------------------------
// XML-RPC helpers (the xmlrpc extension prints expat diagnostics on stdout; keep them out of our output)

/** Decodes a methodResponse; returns [ok, value]. */
function mnet_xmlrpc_decode_response(string $xml): array
{
    ob_start();
    $v = xmlrpc_decode($xml, 'utf-8');
    ob_end_clean();
    // xmlrpc_decode returns null for unparseable input; a valid response never decodes to null
    // (the extension has no nil type), so null means failure.
    return [$v !== null, $v];
}

/** Decodes a methodCall; returns [method|null, params]. */
function mnet_xmlrpc_decode_call(string $xml): array
{
    $method = null;
    ob_start();
    $params = xmlrpc_decode_request($xml, $method, 'utf-8');
    ob_end_clean();
    return [is_string($method) && $method !== '' ? $method : null, is_array($params) ? $params : []];
}

/** A methodResponse carrying $value. */
function mnet_xmlrpc_response($value): string
{
    return xmlrpc_encode_request(null, $value, MNET_XMLRPC_OPTS);
}

/** A methodResponse fault built by hand (same shape Moodle emits). */
function mnet_xmlrpc_fault(int $code, string $string): string
{
    $s = htmlspecialchars($string, ENT_XML1 | ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    return "<?xml version=\"1.0\"?>\n<methodResponse>\n   <fault>\n      <value>\n         <struct>\n"
        . "            <member>\n               <name>faultCode</name>\n               <value><int>$code</int></value>\n            </member>\n"
        . "            <member>\n               <name>faultString</name>\n               <value><string>$s</string></value>\n            </member>\n"
        . "         </struct>\n      </value>\n   </fault>\n</methodResponse>";
}

function mnet_b64decode(?string $s): string
{
    return base64_decode(preg_replace('/\s+/', '', (string)$s)) ?: '';
}

// ---------------------------------------------------------------------------------------------------
// Envelope

/** Wraps the XML-RPC document $xmlrpc into a signedMessage signed (RSA-SHA1) with $privKeyPem. */
function mnet_sign_message(string $xmlrpc, string $wwwroot, string $privKeyPem, ?int $timestamp = null): string
{
    $key = openssl_pkey_get_private($privKeyPem);
    if ($key === false) {
        throw new RuntimeException('bad private key: ' . mnet_openssl_errors());
    }
    if (!openssl_sign($xmlrpc, $sig, $key)) {   // default algorithm: SHA-1, PKCS#1 v1.5
        throw new RuntimeException('openssl_sign failed: ' . mnet_openssl_errors());
    }
    $ts = $timestamp ?? time();
    $w = htmlspecialchars($wwwroot, ENT_XML1 | ENT_QUOTES, 'UTF-8');
    return '<?xml version="1.0" encoding="iso-8859-1"?>
    <signedMessage>
        <Signature Id="MoodleSignature" xmlns="http://www.w3.org/2000/09/xmldsig#">
            <SignedInfo>
                <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
                <SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>
                <Reference URI="#XMLRPC-MSG">
                    <DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>
                    <DigestValue>' . sha1($xmlrpc) . '</DigestValue>
                </Reference>
            </SignedInfo>
            <SignatureValue>' . base64_encode($sig) . '</SignatureValue>
            <KeyInfo>
                <RetrievalMethod URI="' . $w . '/mnet/publickey.php"/>
            </KeyInfo>
        </Signature>
        <object ID="XMLRPC-MSG">' . base64_encode($xmlrpc) . '</object>
        <wwwroot>' . $w . '</wwwroot>
        <timestamp>' . $ts . '</timestamp>
    </signedMessage>';
}

/** Seals $message with RC4 under a fresh key wrapped (RSA PKCS#1 v1.5) to $peerCertPem. */
function mnet_encrypt_message(string $message, string $peerCertPem, string $wwwroot): string
{
    $pub = openssl_pkey_get_public($peerCertPem);
    if ($pub === false) {
        throw new RuntimeException('bad peer certificate: ' . mnet_openssl_errors());
    }
    if (openssl_seal($message, $sealed, $ekeys, [$pub], 'RC4') === false) {
        throw new RuntimeException('openssl_seal failed: ' . mnet_openssl_errors());
    }
    $w = htmlspecialchars($wwwroot, ENT_XML1 | ENT_QUOTES, 'UTF-8');
    return '<?xml version="1.0" encoding="iso-8859-1"?>
    <encryptedMessage>
        <EncryptedData Id="ED" xmlns="http://www.w3.org/2001/04/xmlenc#">
            <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#arcfour"/>
            <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
                <ds:RetrievalMethod URI="#EK" Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey"/>
                <ds:KeyName>XMLENC</ds:KeyName>
            </ds:KeyInfo>
            <CipherData>
                <CipherValue>' . base64_encode($sealed) . '</CipherValue>
            </CipherData>
        </EncryptedData>
        <EncryptedKey Id="EK" xmlns="http://www.w3.org/2001/04/xmlenc#">
            <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"/>
            <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
                <ds:KeyName>SSLKEY</ds:KeyName>
            </ds:KeyInfo>
            <CipherData>
                <CipherValue>' . base64_encode($ekeys[0]) . '</CipherValue>
            </CipherData>
            <ReferenceList>
                <DataReference URI="#ED"/>
            </ReferenceList>
            <CarriedKeyName>XMLENC</CarriedKeyName>
        </EncryptedKey>
        <wwwroot>' . $w . '</wwwroot>
    </encryptedMessage>';
}

/**
 * Opens an encryptedMessage (already parsed by mnet_xml_fields) with $privKeyPem: the last CipherValue is
 * the wrapped key, the one before it the RC4 data. Returns the plaintext or null.
 */
function mnet_open_message(array $fields, string $privKeyPem): ?string
{
    $cv = $fields['CIPHERVALUE'];
    if (count($cv) < 2) {
        return null;
    }
    $data = mnet_b64decode($cv[count($cv) - 2]);
    $ekey = mnet_b64decode($cv[count($cv) - 1]);
    $key = openssl_pkey_get_private($privKeyPem);
    if ($key === false || $ekey === '') {
        mnet_openssl_errors();
        return null;
    }
    $ok = @openssl_open($data, $out, $ekey, $key, 'RC4');
    mnet_openssl_errors();
    if ($ok !== true) {
        return null;
    }
    // OpenSSL >= 3.2 "implicit rejection" may turn a wrong key into garbage instead of an error:
    // anything that does not look like an XML document is treated as a failed decryption.
    if (!preg_match('/^\s*</', $out)) {
        return null;
    }
    return $out;
}

/** RSA-SHA1 verification of $data against a certificate PEM; true only for a valid signature. */
function mnet_verify(string $data, string $sigB64, string $certPem): bool
{
    $pub = openssl_pkey_get_public($certPem);
    if ($pub === false) {
        mnet_openssl_errors();
        return false;
    }
    $r = openssl_verify($data, mnet_b64decode($sigB64), $pub);   // default: SHA-1
    mnet_openssl_errors();
    return $r === 1;
}

/** JSON encoding used for every document we print. */
function mnet_json($v): string
{
    return json_encode($v, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
        | JSON_INVALID_UTF8_SUBSTITUTE);
}
