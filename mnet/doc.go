// Package mnet is the MNET adapter: the signed and encrypted XML-RPC
// envelope, the XML-RPC codec, the use_stats RPC server and client, and key
// management. Built in issue 5.
package mnet
