#!/usr/bin/env bash
# tests/pki/openssl-chain.sh OUT KIND — a client PKI made by openssl alone (no edgeward code),
# for the interoperability tests of machine clients. KIND is ec (P-256 everywhere) or rsa
# (RSA-2048 everywhere). Writes into OUT/KIND/:
#   root.crt root.key            the trust anchor (EDGEWARD_CLIENT_CA)
#   int.crt int.key              an intermediate (pathLen 0)
#   leaf.crt leaf.key chain.pem  a client certificate (SAN URI spiffe://example.org/openssl/KIND),
#                                and chain.pem = leaf + intermediate, what goes in x5c
# and bad inputs, each with a chain-*.pem and the key it needs:
#   chain-serverauth.pem (leaf.key)   EKU serverAuth only
#   chain-expired.pem (leaf.key)      valid in January 2020 only
#   chain-leaf-issuer.pem (sub.key)   a certificate issued by the client certificate
#   chain-int-nobc.pem (leaf.key)     an intermediate without basicConstraints
#   chain-future.pem (leaf.key)       not valid before 2100
#   chain-pathlen.pem (leaf.key)      a second intermediate below the pathLen-0 one
# Extensions are in tests/pki/openssl.cnf beside this script.
set -euo pipefail
out="${1:?usage: openssl-chain.sh OUT ec|rsa}"
kind="${2:?usage: openssl-chain.sh OUT ec|rsa}"
cnf="$(cd "$(dirname "$0")" && pwd)/openssl.cnf"
dir="$out/$kind"
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"

newkey() {
  case "$kind" in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    *) echo "KIND must be ec or rsa" >&2; exit 2 ;;
  esac
}
serial() { echo "0x$(openssl rand -hex 16)"; }
# sign CSR ISSUER_CRT ISSUER_KEY SECTION OUT_CRT
sign() {
  openssl x509 -req -in "$1" -CA "$2" -CAkey "$3" -set_serial "$(serial)" -days 30 -sha256 \
    -extfile "$cnf" -extensions "$4" -out "$5" 2>/dev/null
}
# openssl.cnf reads both when it loads, whichever section a command uses.
export LEAF_URI="spiffe://example.org/openssl/$kind"
export CA_DB="$dir/ca-db"

newkey root.key
openssl req -new -x509 -config "$cnf" -key root.key -subj "/CN=openssl $kind root" -days 365 \
  -set_serial "$(serial)" -sha256 -extensions v3_root -out root.crt

newkey int.key
openssl req -new -config "$cnf" -key int.key -subj "/CN=openssl $kind intermediate" -out int.csr
sign int.csr root.crt root.key v3_int int.crt

newkey leaf.key
openssl req -new -config "$cnf" -key leaf.key -subj "/CN=openssl-$kind-client" -out leaf.csr
sign leaf.csr int.crt int.key v3_leaf leaf.crt
cat leaf.crt int.crt >chain.pem

# Bad: EKU serverAuth only.
sign leaf.csr int.crt int.key v3_leaf_server serverauth.crt
cat serverauth.crt int.crt >chain-serverauth.pem

# Bad: expired (openssl ca is the only command here that takes dates).
mkdir -p "$CA_DB"
: >"$CA_DB/index.txt"
openssl rand -hex 16 >"$CA_DB/serial"
openssl ca -batch -config "$cnf" -cert int.crt -keyfile int.key -in leaf.csr -out expired.crt \
  -startdate 20200101000000Z -enddate 20200201000000Z -extfile "$cnf" -extensions v3_leaf \
  -notext 2>/dev/null
cat expired.crt int.crt >chain-expired.pem
openssl ca -batch -config "$cnf" -cert int.crt -keyfile int.key -in leaf.csr -out future.crt \
  -startdate 21000101000000Z -enddate 21000201000000Z -extfile "$cnf" -extensions v3_leaf \
  -notext 2>/dev/null
cat future.crt int.crt >chain-future.pem

# Bad: the client certificate used as an issuer.
newkey sub.key
openssl req -new -config "$cnf" -key sub.key -subj "/CN=issued-by-a-client" -out sub.csr
sign sub.csr leaf.crt leaf.key v3_leaf sub.crt
cat sub.crt leaf.crt int.crt >chain-leaf-issuer.pem

# Bad: an intermediate without basicConstraints.
newkey nobc.key
openssl req -new -config "$cnf" -key nobc.key -subj "/CN=openssl $kind no-bc" -out nobc.csr
sign nobc.csr root.crt root.key v3_int_nobc nobc.crt
sign leaf.csr nobc.crt nobc.key v3_leaf leaf-nobc.crt
cat leaf-nobc.crt nobc.crt >chain-int-nobc.pem

# Bad: pathLen exceeded (int has pathLen 0, and signs another CA).
newkey int2.key
openssl req -new -config "$cnf" -key int2.key -subj "/CN=openssl $kind too deep" -out int2.csr
sign int2.csr int.crt int.key v3_int int2.crt
sign leaf.csr int2.crt int2.key v3_leaf leaf-deep.crt
cat leaf-deep.crt int2.crt int.crt >chain-pathlen.pem

openssl verify -x509_strict -purpose sslclient -CAfile root.crt -untrusted int.crt leaf.crt >/dev/null
echo "openssl $kind chain in $dir"
