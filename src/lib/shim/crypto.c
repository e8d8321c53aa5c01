/* libcrypto (OpenSSL 3), loaded on first use (see util/dlib.h).  A new
 * libcrypto function in the image code needs its line in CRYPTO_FUNCTIONS. */
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "shim/shim.h"
#include "shim/wrap.h"

/* The soname below is OpenSSL 3's. */
#if OPENSSL_VERSION_MAJOR != 3
#error "check libcrypto's soname"
#endif

#define CRYPTO_FUNCTIONS(F, V, H)                                                                  \
    F(const EVP_MD *, EVP_sha256, (void), (), NULL)                                                \
    F(EVP_MD_CTX *, EVP_MD_CTX_new, (void), (), NULL)                                              \
    V(EVP_MD_CTX_free, (EVP_MD_CTX * ctx), (ctx))                                                  \
    F(int, EVP_DigestInit_ex, (EVP_MD_CTX * ctx, const EVP_MD *md, ENGINE *e), (ctx, md, e), 0)    \
    F(int, EVP_DigestUpdate, (EVP_MD_CTX * ctx, const void *d, size_t n), (ctx, d, n), 0)          \
    F(int, EVP_DigestFinal_ex, (EVP_MD_CTX * ctx, unsigned char *md, unsigned int *n),             \
      (ctx, md, n), 0)                                                                             \
    F(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n), -1)      \
    F(int, EVP_DecodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n), -1)

#define SHIM_LIB crypto_lib
SHIM_DEFINE(crypto_lib, CRYPTO_FUNCTIONS, "libcrypto.so.3", "libssl3")

int v12n_crypto_load(v12n_error *err)
{
    return v12n_dlib_load(&crypto_lib, err);
}
