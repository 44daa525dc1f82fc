"""Chart-of-accounts writes: create and move accounts (organisation admins only)."""
from __future__ import annotations

from django.db import transaction

from ledger import locks
from ledger.errors import AccountCodeTakenError
from ledger.models import Account, AccountType, NormalBalance
from sheshi.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from sheshi.tenancy.scoping import is_org_admin

DEBIT_NORMAL = {AccountType.ASSET, AccountType.EXPENSE}


def _require_admin(actor, organisation_id: int) -> None:
    if actor is not None and not is_org_admin(actor, organisation_id):
        raise PermissionDenied("Only an organisation admin can change the chart of accounts.")


def _by_code(organisation_id: int, code: str | None, field: str) -> Account | None:
    if not code:
        return None
    account = Account.objects.filter(organisation_id=organisation_id, code=code).first()
    if account is None:
        raise ValidationFailed("Unknown account.", errors=[FieldError(field, "Unknown account code.", value=code)])
    return account


@transaction.atomic
def account_create(*, actor, organisation_id: int, code: str, name: str, type: str, kind: str = "posting",
                   parent: str | None = None, is_intercompany: bool = False, role: str = "",
                   ic_pair: str | None = None) -> Account:
    _require_admin(actor, organisation_id)
    if Account.objects.filter(organisation_id=organisation_id, code=code).exists():
        # The unique constraint's answer too (account_code_unique_in_org → account_code_taken, 409).
        raise AccountCodeTakenError(f"Account code {code} is already used in this organisation.",
                                    errors=[FieldError("code", "Already used.", code="account_code_taken",
                                                       value=code)])
    return Account.objects.create(
        organisation_id=organisation_id, code=code, name=name, type=type, kind=kind,
        parent=_by_code(organisation_id, parent, "parent"), is_intercompany=is_intercompany, role=role,
        ic_pair=_by_code(organisation_id, ic_pair, "ic_pair"),
        normal_balance=NormalBalance.DEBIT if type in DEBIT_NORMAL else NormalBalance.CREDIT)


@transaction.atomic
def account_move(*, actor, account_id: int, parent_code: str | None) -> Account:
    """Move an account in the tree. Stored balances are per posting account, so historic figures
    do not change; reports roll the account up under its new parent from now on."""
    account = locks.accounts_for_update().filter(pk=account_id).first()
    if account is None:
        raise NotFound("Account not found.")
    _require_admin(actor, account.organisation_id)
    account.parent = _by_code(account.organisation_id, parent_code, "parent")
    account._change_reason = f"moved under {parent_code or 'root'}"
    account.save(update_fields=["parent", "updated_at"])
    return account
