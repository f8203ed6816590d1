"""Other names of contract columns, date roles and codes, as centers write them.

The proposer compares names reduced by `mapping.name_key` (no accents, lower case, words joined
by `_`) with these lists, in English, French, German, Italian and Spanish. A list is a plain
string of words so that adding a spelling is one edit on one line.
"""

from __future__ import annotations

import re


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: Other names of contract columns.
COLUMNS: dict[str, tuple[str, ...]] = {
    "patient_id": _words(
        "patient subject sujet soggetto sujeto proband subject_id subjid usubjid record_id "
        "pt_id id "
        "patient_number "
        "pseudonym patient_pseudonym numero_patient patienten_id id_paziente paziente "
        "id_paciente paciente"
    ),
    "case_id": _words("case case_number cas fall caso"),
    "center": _words(
        "centre site siteid site_id center_id centre_id zentrum centro hopital hospital"
    ),
    "age_years": _words("age age_at_start age_ans alter eta edad age_at_bsab age_years_old"),
    "sex": _words("gender sexe genre geschlecht sesso sexo genero"),
    "iss_stage": _words(
        "iss iss_stage_at_start stade_iss iss_stadium stadio_iss estadio_iss r_iss riss"
    ),
    "prior_lines": _words(
        "lines prior_lines_of_therapy previous_lines lignes_anterieures nb_lignes "
        "vorherige_linien linee_precedenti lineas_previas number_of_prior_lines"
    ),
    "triple_class_refractory": _words("tcr triple_refractory triple_class triple_refractaire"),
    "emd": _words(
        "extramedullary extramedullary_disease emd_status extramedullaire "
        "maladie_extramedullaire extramedullar extramedullare extramedular"
    ),
    "pmd": _words("paramedullary paramedullary_disease paramedullaire"),
    "hrca": _words("high_risk high_risk_cytogenetics cytogenetique_haut_risque hochrisiko"),
    "del17p": _words("del_17p deletion_17p 17p_deletion"),
    "t_4_14": _words("t4_14 t_4_14_ translocation_4_14"),
    "t_14_16": _words("t14_16 translocation_14_16"),
    "gain_1q21": _words("gain_1q 1q_gain 1q21_gain"),
    "amp_1q21": _words("amp_1q 1q_amp 1q21_amplification"),
    "bsab": _words(
        "bispecific bispecifique bispezifisch bispecifico biespecifico bispecific_antibody "
        "bsab_drug drug treatment traitement "
        "anticorps_bispecifique medikament farmaco farmaco_bispecifico farmaco_biespecifico "
        "trt01a trt01p trta"
    ),
    "best_response": _words(
        "bor best_overall_response meilleure_reponse beste_antwort migliore_risposta "
        "mejor_respuesta"
    ),
    "death_cause": _words(
        "cause_of_death cause_deces todesursache causa_morte causa_muerte dthcaus"
    ),
    "crs_grade": _words("crs crs_max_grade worst_crs grade_crs sdrc_grade"),
    "icans_grade": _words("icans icans_max_grade worst_icans grade_icans"),
    "timepoint": _words("visit avisit visite besuch visita redcap_event_name cycle"),
    "response": _words(
        "avalc imwg_response reponse antwort risposta respuesta response_imwg overall_response"
    ),
    "pet_ct": _words("pet petct pet_scan tep tep_scan"),
    "day": _words("study_day ady astdy jour tag giorno dia"),
    "end_day": _words("aendy stop_day end fin"),
    "event": _words("event_type evenement ereignis evento"),
    "grade": _words("aetoxgr toxicity_grade ctcae_grade grad grado"),
    "detail": _words("description details comment_code"),
    "isotype": _words("heavy_chain isotype_ig isotipo isotyp"),
    "light_chain": _words("light chaine_legere leichtkette catena_leggera cadena_ligera"),
    "target": _words("antigen target_antigen cible zielantigen bersaglio diana"),
    "outcome": _words("impact treatment_impact issue"),
}
#: Other names of date roles (see `mapping.DATE_ROLES`).
DATE_ROLES: dict[str, tuple[str, ...]] = {
    "origin": _words(
        "bsab_start_date bsab_start first_dose_date date_first_dose start_date "
        "treatment_start_date trtsdt c1d1 c1d1_date date_debut_bsab date_debut_traitement "
        "startdatum data_inizio fecha_inicio"
    ),
    "progression": _words(
        "progression_date pd_date date_progression progression progressionsdatum "
        "data_progressione fecha_progresion"
    ),
    "death": _words(
        "death_date date_of_death dod dthdt date_deces date_de_deces todesdatum data_morte "
        "data_decesso fecha_muerte fecha_defuncion"
    ),
    "last_contact": _words(
        "last_contact_date last_fu_date last_follow_up last_followup_date date_last_contact "
        "date_of_last_contact lstalvdt date_derniere_nouvelle date_dernieres_nouvelles "
        "letzter_kontakt ultimo_contatto ultimo_contacto"
    ),
    "last_assessment": _words(
        "last_assessment_date last_adequate_assessment date_last_assessment "
        "last_response_assessment"
    ),
    "last_chemo": _words(
        "last_chemo_date last_chemotherapy_date debulking_end_date date_derniere_chimio"
    ),
    "day": _words(
        "event_date onset_date date astdt date_evenement assessment_date response_date "
        "date_assessment visit_date date_evaluation date_reponse untersuchungsdatum "
        "data_valutazione fecha_evaluacion"
    ),
    "end_day": _words("end_date stop_date resolution_date aendt date_fin"),
}
#: Other spellings of contract codes, per contract column.
CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "sex": {
        "M": _words(
            "m male man homme h masculin mann maennlich mannlich maschio uomo hombre masculino "
            "varon"
        ),
        "F": _words("f female woman femme feminin frau weiblich w femmina donna mujer femenino"),
    },
    "bsab": {
        "teclistamab": _words("teclistamab tec tecvayli jnj_64007957"),
        "elranatamab": _words("elranatamab elra elrexfio pf_06863135"),
        "talquetamab": _words("talquetamab tal talq talvey jnj_64407564"),
    },
    "response": {
        "sCR": _words(
            "scr stringent_cr stringent_complete_response rc_stricte rcs "
            "stringent_complete_remission"
        ),
        "CR": _words(
            "cr complete_response complete_remission rc reponse_complete komplette_remission "
            "risposta_completa respuesta_completa"
        ),
        "VGPR": _words("vgpr very_good_partial_response tbrp rtbp"),
        "PR": _words(
            "pr partial_response partial_remission rp reponse_partielle partielle_remission "
            "risposta_parziale respuesta_parcial"
        ),
        "MR": _words("mr minimal_response minor_response rm reponse_minime"),
        "SD": _words("sd stable_disease stable ms maladie_stable"),
        "PD": _words("pd progressive_disease progression mp progression_de_la_maladie"),
        "NE": _words("ne not_evaluable non_evaluable ni"),
    },
    "death_cause": {
        "progression": _words("progression pd disease_progression myeloma myelome"),
        "infection": _words("infection sepsis infektion infezione infeccion"),
        "other": _words("other autre andere altro otro"),
    },
}
CODES["best_response"] = CODES["response"]
CODES["iss_stage"] = {
    "I": _words("1 i iss_1 iss_i stage_i"),
    "II": _words("2 ii iss_2 iss_ii stage_ii"),
    "III": _words("3 iii iss_3 iss_iii stage_iii"),
}
#: Other spellings of true and false (the contract's own tokens are read as they are).
BOOLEANS: dict[str, tuple[str, ...]] = {
    "true": _words("oui ja si vrai wahr vero verdadero present positive"),
    "false": _words("non nein faux falsch falso absent negative"),
}
#: A visit named by its cycle ("Cycle 3 Day 1", "cycle_3_arm_1", "C03", "Zyklus 3", "ciclo 3").
CYCLE = re.compile(r"^(?:cycle|cycles|c|zyklus|ciclo|cure)_?0*([1-9][0-9]{0,3})(?:_|$)")
