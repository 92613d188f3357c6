#!/usr/bin/env node
// Calls one Moodle web-service function through the npm package
// moodle-client (its own init() and call() API, POST by default), as a
// Node.js integration of a Moodle site would.
//
//   node moodle-client.mjs <wwwroot> <token> <wsfunction> <argsJSON> [POST|GET]
//
// Prints the function's result as JSON on stdout and exits 0. Exits 1 with
// {"error": …} on stdout when the call fails: a Moodle exception (HTTP 200
// with {"exception", "errorcode", "message"[, "debuginfo"]}) is printed as
// {"error": <that object>}; a transport failure (connection, HTTP status
// other than 2xx, a body that is not JSON) as {"error": {"transport":
// <message>[, "statusCode": n][, "body": <text>]}}. Exits 2 on bad usage.
//
// wwwroot is passed to moodle-client unchanged: it appends
// "/webservice/rest/server.php", so a trailing slash gives "//webservice/…",
// as it does for real integrations.

import moodleClient from "moodle-client";

function fail(error, code = 1) {
    process.stdout.write(JSON.stringify({ error }) + "\n");
    process.exit(code);
}

const argv = process.argv.slice(2);
if (argv.length < 4 || argv.length > 5) {
    process.stderr.write("usage: node moodle-client.mjs <wwwroot> <token> <wsfunction> <argsJSON> [POST|GET]\n");
    process.exit(2);
}
const [wwwroot, token, wsfunction, argsJSON, method = "POST"] = argv;

let args;
try {
    args = JSON.parse(argsJSON);
} catch (e) {
    fail({ usage: "argsJSON is not JSON: " + e.message }, 2);
}
if (args === null || typeof args !== "object" || Array.isArray(args)) {
    fail({ usage: "argsJSON must be a JSON object of the function's parameters" }, 2);
}
if (method !== "POST" && method !== "GET") {
    fail({ usage: "method must be POST or GET" }, 2);
}

let result;
try {
    const client = await moodleClient.init({ wwwroot, token });
    result = await client.call({ wsfunction, method, args });
} catch (err) {
    const out = { transport: String(err && err.message ? err.message : err) };
    if (err && typeof err.statusCode === "number") {
        out.statusCode = err.statusCode;
    }
    if (err && err.response && err.response.body !== undefined) {
        out.body = typeof err.response.body === "string" ? err.response.body : JSON.stringify(err.response.body);
    }
    fail(out);
}

// moodle-client parses the body as JSON and leaves it as text when that fails.
if (typeof result === "string" || result === undefined) {
    fail({ transport: "the response body is not JSON", body: result === undefined ? "" : result });
}
if (result !== null && typeof result === "object" && !Array.isArray(result) && "exception" in result) {
    fail(result);
}
process.stdout.write(JSON.stringify(result) + "\n");
