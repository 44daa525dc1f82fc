"""Past one database, checked now: can the tenant tables be distributed by ``organisation_id``?

Citus (and any sharding of organisations across clusters) needs every tenant table to carry the
distribution column and every primary key, unique key and foreign key between tenant tables to
include it; deploy/PAST-ONE-DATABASE.md says why and what it would take. Today the schema does NOT
meet that: its keys are single-column surrogate ids. This test pins the gap as it is, each item
under its reason, so that it can only shrink: a new table or key that repeats the pattern fails
here, and a key fixed (or dropped) must leave the list. The findings come from the catalogue of the
migrated test database (tests/cloud/distribution.py)."""
from __future__ import annotations

import pytest
from django.db import connection

from tests.cloud.distribution import distribution_findings

pytestmark = pytest.mark.django_db

# --- tenant-side tables without organisation_id -------------------------------------------------
NO_ORGANISATION_COLUMN = {
    "tenancy_organisation": "the distribution root itself: its id is the organisation id (Citus: distributed by id, "
                            "co-located with the tenant tables)",
    "tenancy_historicalorganisation": "simple-history of the root; its id column is the organisation id",
    "tenancy_entityuserobjectpermission": "django-guardian's per-entity grants (content_object_id -> entity): a real "
                                          "gap; needs organisation_id added, or stays on the coordinator",
    "tenancy_entitygroupobjectpermission": "as tenancy_entityuserobjectpermission, for groups",
    "access_apitoken": "API tokens belong to a user, and users span organisations: a global (reference) table",
    "audit_pending": "transaction-local bookkeeping of the audit triggers (txid), empty after each commit; not data",
    "ledger_line_entry_pending": "transaction-local list of entries whose lines changed (deferred balance check), "
                                 "empty after each commit; not data",
}

# --- keys without organisation_id -------------------------------------------------------------
# Reason: single-column surrogate primary key (one sequence per table, so unique across all
# organisations, hence within each); Citus needs (organisation_id, id). Step 1 of the note.
SURROGATE_PKS = frozenset({
    "audit_event_pkey", "audit_webhooksubscription_pkey", "consolidation_iccomment_pkey",
    "consolidation_icdifference_pkey", "ledger_journalentrybatch_pkey", "periods_checklisttaskcomment_pkey",
    "periods_reconciliationevidence_pkey", "periods_reconcilingitem_pkey", "consolidation_acquisitionadjustment_pkey",
    "consolidation_adjustmentline_pkey", "consolidation_consolidationgroup_pkey",
    "consolidation_consolidationrun_pkey", "consolidation_fxrate_pkey", "consolidation_groupmember_pkey",
    "ledger_account_pkey", "ledger_balance_pkey", "ledger_importbatch_pkey", "ledger_journalentry_pkey",
    "ledger_journalline_pkey", "ledger_localaccountmapping_pkey", "ledger_sourcesystem_pkey",
    "periods_accountreconciliation_pkey", "periods_checklisttask_pkey", "periods_checklisttemplate_pkey",
    "periods_checklisttemplateitem_pkey", "periods_entityperiod_pkey", "periods_fiscalyear_pkey",
    "periods_groupperiodlock_pkey", "periods_lockoverride_pkey", "periods_period_pkey",
    "periods_periodlocksnapshot_pkey", "security_entitybankdetails_pkey", "tenancy_entity_pkey",
    "tenancy_membership_pkey", "ledger_journalentryattachment_pkey", "ledger_journalentrycomment_pkey",
    "ledger_journaltemplate_pkey", "ledger_journalrecurrence_pkey", "ledger_journalrecurrencerun_pkey",
})

# Reason: simple-history's history_id, same as above; history rows are written by the app for the
# row's organisation and carry its organisation_id.
HISTORY_PKS = frozenset({
    "consolidation_historicalacquisitionadjustment_pkey", "consolidation_historicalconsolidationgroup_pkey",
    "consolidation_historicalconsolidationrun_pkey", "consolidation_historicalfxrate_pkey",
    "consolidation_historicalgroupmember_pkey", "consolidation_historicalicdifference_pkey",
    "ledger_historicalaccount_pkey",
    "ledger_historicaljournalentry_pkey", "ledger_historicallocalaccountmapping_pkey",
    "periods_historicalaccountreconciliation_pkey", "periods_historicalchecklisttask_pkey",
    "periods_historicalchecklisttemplate_pkey", "periods_historicalchecklisttemplateitem_pkey",
    "periods_historicalentityperiod_pkey", "periods_historicalfiscalyear_pkey",
    "periods_historicalgroupperiodlock_pkey", "periods_historicalperiod_pkey", "tenancy_historicalentity_pkey",
    "tenancy_historicalmembership_pkey",
})

# Reason: a one-to-one child keyed by its parent's id (the audit chain link of an event, the state
# of a webhook subscription): unique per parent, the parent being in one organisation.
ONE_TO_ONE_PKS = frozenset({
    "audit_chain_pkey", "audit_webhookstate_pkey",
})

# Reason: uniqueness scoped by a column whose row belongs to exactly one organisation (entity,
# entity-period, consolidation group, fiscal year, checklist template) or a one-to-one link
# (reverses, supersedes, elimination entity): unique per organisation in effect, but the key does
# not say so; adding organisation_id to each is mechanical. Step 2 of the note.
SCOPED_KEYS = frozenset({
    "adjustment_net_assets_once", "ic_difference_pair_unique", "reconciliation_evidence_once",
    "balance_key_unique", "bank_details_entity_label_unique",
    "checklist_item_position_unique", "checklist_task_once_per_item",
    "consolidation_consolidationgroup_elimination_entity_id_key", "entity_period_unique", "group_member_no_overlap",
    "import_same_file_once", "import_same_rows_once", "ledger_importbatch_supersedes_id_key",
    "ledger_journalentry_reverses_id_key", "local_mapping_no_overlap", "period_number_unique",
    "reconciliation_once_per_account", "entry_attachment_once", "journal_template_name_unique",
})

# --- foreign keys between tenant tables without organisation_id ---------------------------------
# Reason: single-column foreign keys by surrogate id. That both rows belong to one organisation is
# checked by the services and hidden by row-level security, not enforced by the key; Citus needs
# composite (organisation_id, x_id) -> (organisation_id, id) keys. Step 2 of the note. (Journal
# lines and balances reference entries and accounts through triggers, not foreign keys: the same
# change applies to those checks.)
FOREIGN_KEYS = frozenset({
    "audit_webhookstate_subscription_id_66d697fe_fk_audit_web",
    "consolidation_iccomm_difference_id_beaddb81_fk_consolida",
    "consolidation_icdiff_account_id_d936b9c0_fk_ledger_ac",
    "consolidation_icdiff_counterparty_account_04bfda72_fk_ledger_ac",
    "consolidation_icdiff_counterparty_id_e0d9f9d2_fk_tenancy_e",
    "consolidation_icdiff_entity_id_7c7f4b0b_fk_tenancy_e",
    "consolidation_icdiff_first_run_id_82c79abb_fk_consolida",
    "consolidation_icdiff_group_id_c624d0b9_fk_consolida",
    "consolidation_icdiff_period_id_43499fc3_fk_periods_p",
    "consolidation_icdiff_run_id_daac122e_fk_consolida",
    "ledger_journalentryb_entity_id_f7013914_fk_tenancy_e",
    "periods_checklisttas_task_id_2cd84737_fk_periods_c",
    "periods_checklisttem_entity_id_ec642dc6_fk_tenancy_e",
    "periods_reconciliati_reconciliation_id_863485e1_fk_periods_a",
    "periods_reconcilingi_reconciliation_id_042f44e1_fk_periods_a",
    "consolidation_acquis_buyer_id_56ff892d_fk_tenancy_e",
    "consolidation_acquis_cogs_account_id_5140abc9_fk_ledger_ac",
    "consolidation_acquis_entity_id_eae863cd_fk_tenancy_e", "consolidation_acquis_group_id_56269f32_fk_consolida",
    "consolidation_acquis_inventory_account_id_dc9d59fc_fk_ledger_ac",
    "consolidation_acquis_period_id_7c53ef5b_fk_periods_p", "consolidation_adjust_account_id_162c8b7d_fk_ledger_ac",
    "consolidation_adjust_adjustment_id_f10b5c85_fk_consolida",
    "consolidation_consol_elimination_entity_i_d13d44e9_fk_tenancy_e",
    "consolidation_consol_group_id_4fcfd7b4_fk_consolida", "consolidation_consol_period_id_2ad9891e_fk_periods_p",
    "consolidation_consol_previous_run_id_c9cce778_fk_consolida",
    "consolidation_consol_top_entity_id_06fb2d3f_fk_tenancy_e",
    "consolidation_groupm_entity_id_eb2e23a6_fk_tenancy_e", "consolidation_groupm_group_id_8c710350_fk_consolida",
    "consolidation_groupm_parent_id_e8107290_fk_tenancy_e",
    "ledger_account_ic_pair_id_5867d86f_fk_ledger_account_id",
    "ledger_account_parent_id_f0b843e5_fk_ledger_account_id",
    "ledger_importbatch_entity_id_34420f15_fk_tenancy_entity_id",
    "ledger_importbatch_period_id_9ce4d1da_fk_periods_period_id",
    "ledger_importbatch_source_system_id_ecd36523_fk_ledger_so",
    "ledger_importbatch_supersedes_id_6db89b70_fk_ledger_im",
    "ledger_localaccountm_account_id_f4938dbf_fk_ledger_ac", "ledger_localaccountm_entity_id_0f86e945_fk_tenancy_e",
    "periods_accountrecon_account_id_a659675f_fk_ledger_ac",
    "periods_accountrecon_entity_period_id_2eb26747_fk_periods_e",
    "periods_checklisttas_entity_period_id_240e90c4_fk_periods_e",
    "periods_checklisttas_template_item_id_7d0d4bf0_fk_periods_c",
    "periods_checklisttem_template_id_5fe934c7_fk_periods_c",
    "periods_entityperiod_entity_id_e7ae590f_fk_tenancy_entity_id",
    "periods_entityperiod_period_id_a6d39ea4_fk_periods_period_id",
    "periods_groupperiodlock_period_id_25d72c23_fk_periods_period_id",
    "periods_lockoverride_entity_period_id_05df20f0_fk_periods_e",
    "periods_period_fiscal_year_id_d591e516_fk_periods_fiscalyear_id",
    "periods_periodlocksn_entity_period_id_bd417aee_fk_periods_e",
    "security_entitybankd_entity_id_a79c35ea_fk_tenancy_e",
    "ledger_journalentrya_entry_id_81418658_fk_ledger_jo", "ledger_journalentryc_entry_id_9ea8b2a3_fk_ledger_jo",
    "ledger_journaltemplate_entity_id_36263266_fk_tenancy_entity_id",
    "ledger_journalrecurr_end_period_id_38f2e603_fk_periods_p", "ledger_journalrecurr_entity_id_55563f9a_fk_tenancy_e",
    "ledger_journalrecurr_period_id_fc642014_fk_periods_p", "ledger_journalrecurr_recurrence_id_0402918e_fk_ledger_jo",
    "ledger_journalrecurr_start_period_id_87ea5882_fk_periods_p",
    "ledger_journalrecurr_template_id_207259dd_fk_ledger_jo",
})


def test_every_tenant_table_carries_organisation_id_and_keys_include_it_except_the_listed_gap():
    with connection.cursor() as cursor:
        found = distribution_findings(cursor)
    listed_keys = SURROGATE_PKS | HISTORY_PKS | ONE_TO_ONE_PKS | SCOPED_KEYS
    assert set(found["no_organisation_column"]) == set(NO_ORGANISATION_COLUMN), (
        "tenant tables without organisation_id changed: add the column to a new table, or list it with a reason")
    new_keys = {k: v for k, v in found["keys"].items() if k not in listed_keys}
    assert new_keys == {}, "new keys without organisation_id (include it: deploy/PAST-ONE-DATABASE.md)"
    assert listed_keys - set(found["keys"]) == set(), "fixed or dropped: take these off the list"
    new_fks = {k: v for k, v in found["foreign_keys"].items() if k not in FOREIGN_KEYS}
    assert new_fks == {}, "new foreign keys between tenant tables without organisation_id"
    assert FOREIGN_KEYS - set(found["foreign_keys"]) == set(), "fixed or dropped: take these off the list"


def test_the_check_sees_a_key_that_leaves_organisation_id_out(owner_sql):
    """The catalogue query itself: a new tenant table with an id-only unique key and foreign key is found."""
    with owner_sql.cursor() as cursor:  # the owner may create (temporary) tables; the app role may not
        cursor.execute("CREATE TEMP TABLE ledger_probe_parent (id int PRIMARY KEY, organisation_id int NOT NULL)")
        cursor.execute("CREATE TEMP TABLE ledger_probe_child (id int, organisation_id int NOT NULL, "
                       "parent_id int CONSTRAINT probe_child_parent_fk REFERENCES ledger_probe_parent (id), "
                       "CONSTRAINT probe_child_key UNIQUE (organisation_id, id))")
        cursor.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()")
        found = distribution_findings(cursor, schemas=(cursor.fetchone()[0],))
    assert "probe_child_key" not in found["keys"]  # includes organisation_id: fine
    assert "ledger_probe_parent_pkey" in found["keys"]
    assert "probe_child_parent_fk" in found["foreign_keys"]
