/* test_note.c: C2SP signed checkpoints and verifier key lines (note.c).
 * Checks the contract's format byte for byte and that the verifier is strict:
 * every single-bit change of a signed note, and every non-canonical spelling,
 * is refused. */
#include "lt_helpers.h"
#include "note.h"

#include <check.h>
#include <sodium.h>

static char *g_dir;
static char g_note[NOTE_MAX];
static char g_name[NOTE_ORIGIN_MAX + 1];
static uint8_t g_pub[32];
static merkle_hash g_root;

static void setup(void)
{
    g_dir = lt_new_ledger("note");
    ledger *lg;
    adt_err err;
    ck_assert_int_eq(ledger_open(g_dir, LEDGER_RDWR, &lg, &err), ADT_OK);
    ledger_commit c;
    for (uint64_t k = 0; k < 5; k++)
        c = lt_append1(lg, k, "s");
    snprintf(g_note, sizeof g_note, "%s", c.checkpoint);
    memcpy(g_root, c.root, 32);
    ck_assert_int_eq(note_key_parse(ledger_key_line(lg), g_name, sizeof g_name, g_pub, &err), ADT_OK);
    ledger_close(lg);
}

static void teardown(void)
{
    lt_remove_ledger(g_dir);
}

static int verify(const char *note, size_t len)
{
    uint64_t size;
    merkle_hash root;
    adt_err err;
    char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
    memcpy(copy, note, len);
    int rc = note_verify_checkpoint(copy, len, g_name, g_pub, &size, root, &err);
    free(copy);
    return rc;
}

START_TEST(test_format)
{
    /* <origin>\n<size>\n<base64 root>\n\n— <name> <base64(keyid || sig)>\n */
    char rb64[64];
    sodium_bin2base64(rb64, sizeof rb64, g_root, 32, sodium_base64_VARIANT_ORIGINAL);
    char body[256];
    int bl = snprintf(body, sizeof body, "auditd.test/ledger\n5\n%s\n", rb64);
    ck_assert(strncmp(g_note, body, (size_t)bl) == 0);
    const char *sigline = g_note + bl;
    static const char lead[] = "\n\xe2\x80\x94 auditd.test/ledger ";
    ck_assert(strncmp(sigline, lead, sizeof lead - 1) == 0);
    const char *b64 = sigline + sizeof lead - 1;
    size_t b64len = strlen(b64);
    ck_assert_int_eq(b64[b64len - 1], '\n');
    uint8_t sig[80];
    size_t sl;
    ck_assert_int_eq(sodium_base642bin(sig, sizeof sig, b64, b64len - 1, NULL, &sl, NULL,
                                       sodium_base64_VARIANT_ORIGINAL), 0);
    ck_assert_uint_eq(sl, 68);
    /* key id = SHA-256(name || 0x0A || 0x01 || pub)[0:4] */
    uint8_t idin[200], h[32];
    size_t nl = strlen(g_name);
    memcpy(idin, g_name, nl);
    idin[nl] = 0x0A;
    idin[nl + 1] = 0x01;
    memcpy(idin + nl + 2, g_pub, 32);
    crypto_hash_sha256(h, idin, nl + 34);
    ck_assert_mem_eq(sig, h, 4);
    /* The signature is Ed25519 over the body, final newline included. */
    ck_assert_int_eq(crypto_sign_verify_detached(sig + 4, (const uint8_t *)body, (size_t)bl, g_pub), 0);
    /* The key line: <name>+<8 hex key id>+<base64(0x01 || pub)> */
    char line[NOTE_KEYLINE_MAX], want[NOTE_KEYLINE_MAX], kb64[64];
    uint8_t kb[33] = {0x01};
    memcpy(kb + 1, g_pub, 32);
    sodium_bin2base64(kb64, sizeof kb64, kb, 33, sodium_base64_VARIANT_ORIGINAL);
    snprintf(want, sizeof want, "%s+%02x%02x%02x%02x+%s", g_name, h[0], h[1], h[2], h[3], kb64);
    ck_assert_int_eq(note_key_line(g_name, g_pub, line, sizeof line), ADT_OK);
    ck_assert_str_eq(line, want);
    uint8_t id[4];
    note_key_id(g_name, g_pub, id);
    ck_assert_mem_eq(id, h, 4);
    ck_assert_int_eq(verify(g_note, strlen(g_note)), ADT_OK);
}
END_TEST

START_TEST(test_every_bit_flip_refused)
{
    size_t n = strlen(g_note);
    char *m = malloc(n + 1);
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            memcpy(m, g_note, n + 1);
            m[i] = (char)(m[i] ^ (1 << b));
            if (verify(m, n) == ADT_OK) {
                accepted++;
                fprintf(stderr, "accepted with byte %zu bit %d flipped\n", i, b);
            }
        }
    }
    free(m);
    ck_assert_int_eq(accepted, 0);
    /* Truncations and extensions. */
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(verify(g_note, k) != ADT_OK, "prefix of %zu bytes accepted", k);
    char ext[NOTE_MAX + 8];
    snprintf(ext, sizeof ext, "%sx", g_note);
    ck_assert_int_ne(verify(ext, strlen(ext)), ADT_OK);
}
END_TEST

/* Replace the first occurrence of `from` with `to` in the note and verify. */
static int verify_edit(const char *from, const char *to)
{
    char buf2[NOTE_MAX * 2];
    const char *p = strstr(g_note, from);
    ck_assert_ptr_nonnull(p);
    size_t pre = (size_t)(p - g_note);
    snprintf(buf2, sizeof buf2, "%.*s%s%s", (int)pre, g_note, to, p + strlen(from));
    return verify(buf2, strlen(buf2));
}

START_TEST(test_spellings_refused)
{
    char rb64[64], url[64];
    sodium_bin2base64(rb64, sizeof rb64, g_root, 32, sodium_base64_VARIANT_ORIGINAL);
    /* Root without padding, with a space, in the URL-safe alphabet. */
    char nopad[64];
    snprintf(nopad, sizeof nopad, "%.*s", (int)strlen(rb64) - 1, rb64);
    ck_assert_int_ne(verify_edit(rb64, nopad), ADT_OK);
    char sp[80];
    snprintf(sp, sizeof sp, "%.10s %s", rb64, rb64 + 10);
    ck_assert_int_ne(verify_edit(rb64, sp), ADT_OK);
    sodium_bin2base64(url, sizeof url, g_root, 32, sodium_base64_VARIANT_URLSAFE);
    if (strcmp(url, rb64) != 0)
        ck_assert_int_ne(verify_edit(rb64, url), ADT_OK);
    /* Size with a leading zero or a sign, CRLF line ends, no final newline. */
    ck_assert_int_ne(verify_edit("\n5\n", "\n05\n"), ADT_OK);
    ck_assert_int_ne(verify_edit("\n5\n", "\n+5\n"), ADT_OK);
    ck_assert_int_ne(verify_edit("ledger\n5", "ledger\r\n5"), ADT_OK);
    ck_assert_int_ne(verify(g_note, strlen(g_note) - 1), ADT_OK);
    /* Another origin, a hyphen instead of the em dash. */
    ck_assert_int_ne(verify_edit("auditd.test/ledger\n", "auditd.test/ledgex\n"), ADT_OK);
    ck_assert_int_ne(verify_edit("\xe2\x80\x94 ", "- "), ADT_OK);
    /* An added signature line by another key is allowed (C2SP cosignatures)... */
    char co[NOTE_MAX * 2];
    snprintf(co, sizeof co, "%s\xe2\x80\x94 witness.example/w AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
             g_note);
    int rc = verify(co, strlen(co));
    ck_assert_msg(rc == ADT_OK, "a cosignature by another key made the note fail (%d)", rc);
    /* ...but a note with no signature by our key is not. */
    const char *sigline = strstr(g_note, "\n\n") + 1;
    char only_other[NOTE_MAX * 2];
    snprintf(only_other, sizeof only_other, "%.*s\xe2\x80\x94 witness.example/w AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
             (int)(sigline - g_note + 1), g_note);
    ck_assert_int_ne(verify(only_other, strlen(only_other)), ADT_OK);
}
END_TEST

START_TEST(test_key_line)
{
    char line[NOTE_KEYLINE_MAX];
    ck_assert_int_eq(note_key_line(g_name, g_pub, line, sizeof line), ADT_OK);
    char name[NOTE_ORIGIN_MAX + 1];
    uint8_t pub[32];
    adt_err err;
    ck_assert_int_eq(note_key_parse(line, name, sizeof name, pub, &err), ADT_OK);
    size_t n = strlen(line);
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            char m[NOTE_KEYLINE_MAX];
            memcpy(m, line, n + 1);
            m[i] = (char)(m[i] ^ (1 << b));
            if (m[i] == '\0' || m[i] == '\n' || m[i] == '\r')
                continue;
            if (note_key_parse(m, name, sizeof name, pub, &err) == ADT_OK &&
                (strcmp(name, g_name) != 0 || memcmp(pub, g_pub, 32) != 0 ||
                 strcmp(m, line) != 0))
                accepted++;
        }
    }
    ck_assert_int_eq(accepted, 0);
    /* Uppercase key id, missing parts, wrong version byte. */
    char up[NOTE_KEYLINE_MAX];
    snprintf(up, sizeof up, "%s", line);
    for (char *p = strchr(up, '+') + 1; *p != '+'; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    if (strcmp(up, line) != 0)
        ck_assert_int_ne(note_key_parse(up, name, sizeof name, pub, &err), ADT_OK);
    ck_assert_int_ne(note_key_parse("", name, sizeof name, pub, &err), ADT_OK);
    ck_assert_int_ne(note_key_parse("a+b", name, sizeof name, pub, &err), ADT_OK);
    ck_assert_int_ne(note_key_parse(g_name, name, sizeof name, pub, &err), ADT_OK);
    /* A name too long for the caller's buffer is refused, not truncated. */
    char small[4];
    ck_assert_int_ne(note_key_parse(line, small, sizeof small, pub, &err), ADT_OK);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("note");
    TCase *tc = tcase_create("note");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_every_bit_flip_refused);
    tcase_add_test(tc, test_spellings_refused);
    tcase_add_test(tc, test_key_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
