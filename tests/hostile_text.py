"""Stored-text payloads shared by the browser and file tests: a cases.csv and an events.csv that
pass validation yet carry markdown (a link, an image, emphasis, strong text, a code span)."""

from __future__ import annotations

#: The payloads: a link and an image (reference style: validation refuses `[x](url)`, but a
#: multi-line cell with link definitions passes it), emphasis, strong text and a code span.
LINK = "[Re-enter your password][p]"
IMAGE = "![tracker][q]"
DEFINITIONS = "[p]: //evil.test/login\n[q]: //evil.test/pixel.png"
EMPHASIS, STRONG, CODE = "*emtoken*", "**strongtoken**", "`codetoken`"
STAGE = f"ISS I {LINK} {IMAGE} {EMPHASIS}\n\n{DEFINITIONS}"
PREMEDICATION = f"paracetamol {STRONG};{CODE}"
CASES = (
    "case_id,center,age_years,sex,isotype,light_chain,stage,prior_lines,bsab,target,"
    "premedication,outcome\n"
    f'X1,C77,64,F,IgG,kappa,"{STAGE}",4,teclistamab,BCMA,"{PREMEDICATION}",discontinued\n'
)
EVENTS = (
    "case_id,day,event,grade,end_day,detail\n"
    "X1,0.0,bsab_dose,,,step-up 1\n"
    f'X1,2.0,crs,2,3.0,"fever {EMPHASIS} {CODE}"\n'
)
