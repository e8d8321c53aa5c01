#include "vmm/qmp_server.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *vmm_qmp_greeting(void)
{
    /* version 0.0.0: not a QEMU; the management reads only "QMP" */
    return "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 0, \"minor\": 0, \"micro\": 0}, "
           "\"package\": \"v12n\"}, \"capabilities\": []}}\n";
}

static json_t *error_reply(const char *cls, const char *desc)
{
    return json_pack("{s:{s:s,s:s}}", "error", "class", cls, "desc", desc);
}

static json_t *answer(json_t *req, enum vmm_qmp_action *action)
{
    const char *cmd = json_string_value(json_object_get(req, "execute"));
    if (cmd == NULL)
        return error_reply("GenericError", "expected an object with \"execute\"");
    if (strcmp(cmd, "qmp_capabilities") == 0)
        return json_pack("{s:{}}", "return");
    if (strcmp(cmd, "query-status") == 0)
        return json_pack("{s:{s:s,s:b,s:b}}", "return", "status", "running", "running", 1,
                         "singlestep", 0);
    if (strcmp(cmd, "quit") == 0) {
        *action = VMM_QMP_QUIT;
        return json_pack("{s:{}}", "return");
    }
    if (strcmp(cmd, "system_powerdown") == 0) {
        *action = VMM_QMP_POWERDOWN;
        return json_pack("{s:{}}", "return");
    }
    if (strcmp(cmd, "system_reset") == 0)
        return error_reply("GenericError", "v12n's own VMM has no reset from outside");
    char desc[128];
    snprintf(desc, sizeof desc, "The command %.64s has not been found", cmd);
    return error_reply("CommandNotFound", desc);
}

void vmm_qmp_answer(const char *line, size_t len, char **reply, enum vmm_qmp_action *action)
{
    *action = VMM_QMP_NONE;
    *reply = NULL;
    json_t *req =
        len <= VMM_QMP_LINE_MAX ? json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *out =
        json_is_object(req) ? answer(req, action) : error_reply("GenericError", "JSON parse error");
    json_t *id = json_object_get(req, "id");
    if (out != NULL && id != NULL)
        json_object_set(out, "id", id);
    json_decref(req);
    if (out == NULL)
        return;
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    char *r = realloc(text, n + 2);
    if (r == NULL) {
        free(text);
        return;
    }
    r[n] = '\n';
    r[n + 1] = '\0';
    *reply = r;
}
