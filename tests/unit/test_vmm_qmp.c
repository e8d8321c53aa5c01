/* The managed VMM's QMP answers (vmm/qmp_server.c): the commands the VM
 * management uses, and hostile lines (random bytes, truncations, huge
 * lengths) that must each get one well-formed JSON error line. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/qmp_server.h"

/* The reply as JSON (one line, newline-terminated), and the action. */
static json_t *ask(const char *line, size_t len, enum vmm_qmp_action *action)
{
    char *reply = NULL;
    vmm_qmp_answer(line, len, &reply, action);
    assert_non_null(reply);
    size_t n = strlen(reply);
    assert_true(n > 1 && reply[n - 1] == '\n');
    assert_null(memchr(reply, '\n', n - 1));
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    assert_true(json_is_object(j));
    return j;
}

static json_t *ask_str(const char *line, enum vmm_qmp_action *action)
{
    return ask(line, strlen(line), action);
}

static const char *error_class(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "class"));
}

static void test_greeting(void **state)
{
    (void)state;
    json_t *g = json_loads(vmm_qmp_greeting(), 0, NULL);
    assert_true(json_is_object(json_object_get(g, "QMP")));
    json_decref(g);
}

static void test_commands(void **state)
{
    (void)state;
    enum vmm_qmp_action a;
    json_t *j = ask_str("{\"execute\":\"qmp_capabilities\",\"id\":\"v12n-1\"}", &a);
    assert_int_equal(a, VMM_QMP_NONE);
    assert_true(json_is_object(json_object_get(j, "return")));
    assert_string_equal(json_string_value(json_object_get(j, "id")), "v12n-1");
    json_decref(j);
    j = ask_str("{\"execute\":\"query-status\"}", &a);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "return"), "status")),
                        "running");
    assert_null(json_object_get(j, "id"));
    json_decref(j);
    j = ask_str("{\"execute\":\"quit\",\"id\":{\"any\":[1]}}", &a);
    assert_int_equal(a, VMM_QMP_QUIT);
    assert_true(json_is_object(json_object_get(j, "id")));
    json_decref(j);
    j = ask_str("{\"execute\":\"system_powerdown\"}", &a);
    assert_int_equal(a, VMM_QMP_POWERDOWN);
    assert_true(json_is_object(json_object_get(j, "return")));
    json_decref(j);
    j = ask_str("{\"execute\":\"system_reset\"}", &a);
    assert_int_equal(a, VMM_QMP_NONE);
    assert_string_equal(error_class(j), "GenericError");
    json_decref(j);
    j = ask_str("{\"execute\":\"no-such-command\"}", &a);
    assert_string_equal(error_class(j), "CommandNotFound");
    json_decref(j);
}

static void test_bad_lines(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "{",
                         "[]",
                         "\"execute\"",
                         "{\"execute\":1}",
                         "{\"execute\":null}",
                         "{\"execute\":\"quit\",\"execute\":\"quit\"}",
                         "{\"exec\":\"quit\"}",
                         "{\"execute\":\"qu\\u0000it\"}",
                         "nul\0byte"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum vmm_qmp_action a;
        json_t *j = ask(bad[i], i == 9 ? 8 : strlen(bad[i]), &a);
        assert_int_equal(a, VMM_QMP_NONE);
        assert_non_null(error_class(j));
        json_decref(j);
    }
    /* a command name of any length is quoted, cut, in the error */
    char big[VMM_QMP_LINE_MAX + 64];
    int n = snprintf(big, sizeof big, "{\"execute\":\"%0*d\"}", VMM_QMP_LINE_MAX - 20, 0);
    enum vmm_qmp_action a;
    json_t *j = ask(big, (size_t)n, &a);
    assert_string_equal(error_class(j), "CommandNotFound");
    json_decref(j);
    /* over the line limit: refused unread */
    n = snprintf(big, sizeof big, "{\"execute\":\"%0*d\"}", VMM_QMP_LINE_MAX, 0);
    j = ask(big, (size_t)n, &a);
    assert_string_equal(error_class(j), "GenericError");
    json_decref(j);
}

/* Random bytes and every prefix of a valid request: one JSON reply each,
 * never an action but from a whole command. */
static void test_fuzz(void **state)
{
    (void)state;
    srand(12345);
    char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)rand() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(round % 2 ? rand() : "{}[]\":,execquitd 0\\u"[rand() % 20]);
        enum vmm_qmp_action a;
        json_t *j = ask(buf, len, &a);
        json_decref(j);
    }
    const char *quit = "{\"execute\":\"quit\"}";
    for (size_t len = 0; len < strlen(quit); len++) {
        enum vmm_qmp_action a;
        json_t *j = ask(quit, len, &a);
        assert_int_equal(a, VMM_QMP_NONE);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
