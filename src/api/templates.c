/* Action link templates through the sObject endpoints (SPEC 8). (Being written.) */
#include "api/internal.h"

static void not_yet(struct api_req *r)
{
    reply_error(r, ERR_NOT_FOUND, "templates are not available yet");
}

void h_gtemplate_create(struct api_req *r) { not_yet(r); }
void h_gtemplate_get(struct api_req *r) { not_yet(r); }
void h_gtemplate_update(struct api_req *r) { not_yet(r); }
void h_gtemplate_delete(struct api_req *r) { not_yet(r); }
void h_ltemplate_create(struct api_req *r) { not_yet(r); }
void h_ltemplate_get(struct api_req *r) { not_yet(r); }
void h_ltemplate_update(struct api_req *r) { not_yet(r); }
void h_ltemplate_delete(struct api_req *r) { not_yet(r); }

void definition_from_template(struct api_req *r, json_t *body)
{
    char id[ID_LEN + 1];
    const json_t *tid = json_object_get(body, "templateId");
    if (!json_is_string(tid) || !id_parse(json_string_value(tid), ID_GROUP_TEMPLATE, id))
        reply_error(r, ERR_ID, "templateId: must be an action link group template id (07g…)");
    else
        reply_error(r, ERR_INPUT, "templateId: no published template has this id");
}
