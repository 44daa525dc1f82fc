"""The journal entry form of the admin (issue 16): a header and an editable lines grid.

The page only reads input and shows errors: a new draft goes through
``services.journal_entry_create``, an edit of a draft through ``services.journal_entry_update``,
"Save and submit" then through ``services.journal_entry_submit`` — the same checks as the API.
Refusals come back as sentences on the page (``human_message``), never as codes or a 500.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.db import DatabaseError, transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ledger.errors import EntryNotInStateError, EntryUnbalancedError
from ledger.inputs import EntryInput, LineInput
from ledger.models import Account, AccountKind, EntrySource, EntryStatus, JournalEntry, JournalRecurrenceRun
from ledger.services import entries as services
from periods.models import Period
from sheshi.access.roles import APPROVE, CLOSE, PREPARE, REOPEN, VIEW
from sheshi.errors import PermissionDenied, SheshiError, ValidationFailed, from_db_error
from sheshi.money import AMOUNT_DIGITS, AMOUNT_PLACES, RATE_DIGITS, RATE_PLACES
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entities_for

# A date input's value is ISO whatever the language: a browser shows "30/04/2026" (en-GB's
# format) as empty, and a draft re-saved from its form would lose its dates.
ISO_DATE = "%Y-%m-%d"
LINE_FIELDS = ("account", "debit", "credit", "currency", "rate", "memo", "counterparty", "dimensions")
# The cells' labels, for messages that name a line's field ("Line 3, counterparty: ...").
LINE_FIELD_LABELS = {"account": "account", "debit": "debit", "credit": "credit", "currency": "currency",
                     "rate": "rate", "memo": "memo", "counterparty": "counterparty", "dimensions": "dimensions"}
DIMENSION_VALUE_MAX = 64  # as the API's LineInputSerializer
PERMISSION_PHRASES = {
    VIEW: "see this entity's ledger",
    PREPARE: "prepare journal entries",
    APPROVE: "approve or post journal entries",
    CLOSE: "post into a soft-closed period",
    REOPEN: "reopen periods",
}


# ---- human messages ----------------------------------------------------------------------------

def human_message(exc: Exception, verb: str = "changed") -> str:
    """One sentence for a controller: what was refused and why, without internal codes.
    ``verb`` is what was attempted ("approved", "posted") for state refusals."""
    if isinstance(exc, DatabaseError):
        mapped = from_db_error(exc)
        # The rule's title is the sentence; the database's own message names tables and ids.
        return mapped.title if mapped is not None else "The database refused the change; nothing was saved."
    if isinstance(exc, PermissionDenied) and exc.context.get("perm"):
        phrase = PERMISSION_PHRASES.get(exc.context["perm"], "do this")
        return f"You are not allowed to {phrase} for entity {exc.context['entity_code']}."
    if isinstance(exc, EntryNotInStateError) and exc.context.get("entry_status"):
        labels = dict(EntryStatus.choices)
        allowed = " or ".join(labels[s].lower() for s in exc.context["allowed"])
        return f"it is {labels[exc.context['entry_status']].lower()}; only {allowed} entries can be {verb}."
    if isinstance(exc, ValidationFailed) and exc.errors:
        return " ".join([exc.detail.rstrip(".") + ":", *(e.message for e in exc.errors)])
    if isinstance(exc, SheshiError):
        return exc.detail
    raise exc


# ---- forms -------------------------------------------------------------------------------------

class PeriodChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Period) -> str:
        return f"{obj.code} ({obj.start_date:%d %b} – {obj.end_date:%d %b %Y})"


class EntryHeaderForm(forms.Form):
    entity = forms.ModelChoiceField(queryset=Entity.objects.none())
    entry_date = forms.DateField(widget=forms.DateInput(format=ISO_DATE, attrs={"type": "date"}))
    period = PeriodChoiceField(queryset=Period.objects.none(), required=False, empty_label="(from the entry date)",
                               help_text="Leave as is to use the period containing the entry date; choose one "
                                         "for an adjustment period.")
    description = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"size": 60}))
    reference = forms.CharField(max_length=100, required=False)
    auto_reverse = forms.BooleanField(required=False, label="Reverse automatically",
                                      help_text="An accrual: when the entry is posted, its reversal is drafted in "
                                                "the next period.")
    reverse_on = forms.DateField(required=False, label="Reverse on",
                                 widget=forms.DateInput(format=ISO_DATE, attrs={"type": "date"}),
                                 help_text="Empty: the first day of the next period.")

    def __init__(self, *args, user, entry: JournalEntry | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        entities = entities_for(user, PREPARE).select_related("organisation").order_by("code")
        self.fields["entity"].queryset = entities
        self.fields["entity"].label_from_instance = lambda e: f"{e.code} – {e.name} ({e.functional_currency})"
        self.fields["period"].queryset = Period.objects.filter(
            organisation_id__in=entities.values("organisation_id")).order_by("start_date", "number")
        if entry is not None:  # an entry never moves to another entity (the database refuses it)
            self.fields["entity"].disabled = True


class AmountField(forms.DecimalField):
    """A decimal as controllers type or paste it: "1,250.00" and "1 250.00" read as 1250.00."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(",", "").replace(" ", "").replace("\u00a0", "").replace("'", "")
        return super().to_python(value)


def _cell(name: str, label: str, size: int, **attrs) -> forms.TextInput:
    """A grid cell: the class the script finds it by, a label for screen readers."""
    return forms.TextInput(attrs={"class": f"je-{name}", "aria-label": label, "size": size, **attrs})


class EntryLineForm(forms.Form):
    account = forms.CharField(required=False, max_length=240,
                              widget=_cell("account", "Account", 18, list="je-accounts", autocomplete="off"))
    debit = AmountField(required=False, min_value=0, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                        widget=_cell("debit", "Debit", 12, inputmode="decimal"))
    credit = AmountField(required=False, min_value=0, max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES,
                         widget=_cell("credit", "Credit", 12, inputmode="decimal"))
    currency = forms.CharField(required=False, max_length=3,
                               widget=_cell("currency", "Currency", 4, placeholder="func."))
    rate = forms.DecimalField(required=False, min_value=Decimal("0.000000000001"), max_digits=RATE_DIGITS,
                              decimal_places=RATE_PLACES, widget=_cell("rate", "Rate", 8, inputmode="decimal",
                                                                       placeholder="1"))
    memo = forms.CharField(required=False, max_length=500, widget=_cell("memo", "Memo", 30))
    counterparty = forms.CharField(required=False, max_length=32,
                                   widget=_cell("counterparty", "Counterparty (intercompany entity code)", 10,
                                                list="je-entities", autocomplete="off"))
    dimensions = forms.CharField(required=False, max_length=1000,
                                 widget=_cell("dimensions", "Dimensions (name=value; name=value)", 24,
                                              placeholder="name=value; …"))

    def clean_counterparty(self):
        return (self.cleaned_data.get("counterparty") or "").strip()

    def clean_dimensions(self) -> dict:
        return parse_dimensions(self.cleaned_data.get("dimensions") or "")

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        return not any(data.get(f) not in (None, "", {}) for f in LINE_FIELDS)

    def clean(self):
        data = super().clean()
        if not any(data.get(f) not in (None, "", {}) for f in LINE_FIELDS):
            return data  # a blank row: ignored
        debit, credit = data.get("debit"), data.get("credit")
        if not data.get("account") and "account" not in self.errors:
            self.add_error("account", "Enter an account code or name.")
        if debit and credit:
            self.add_error("credit", "Enter a debit or a credit on a line, not both.")
        elif not debit and not credit and "debit" not in self.errors and "credit" not in self.errors:
            self.add_error("debit", "Enter a debit or a credit.")
        return data


def parse_dimensions(text: str) -> dict[str, str]:
    """``name=value; name=value`` (as the grid shows them) as a dict; a ValidationError names the
    part that cannot be read."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise forms.ValidationError(f"“{part}” is not name=value (write dimensions as name=value; name=value).")
        if name in out:
            raise forms.ValidationError(f"The dimension “{name}” is given twice.")
        if len(name) > DIMENSION_VALUE_MAX or len(value) > DIMENSION_VALUE_MAX:
            raise forms.ValidationError(f"The dimension “{name[:20]}” is longer than {DIMENSION_VALUE_MAX} "
                                        "characters.")
        out[name] = value
    return out


def dimensions_text(dimensions: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in (dimensions or {}).items())


def _representable(dimensions: dict) -> bool:
    """Whether the grid's text shows the dimensions whole (no ``;`` or ``=`` inside a name or value)."""
    return all(isinstance(v, str) and not (set(k) | set(v)) & {";", "="} and k.strip() == k and v.strip() == v
               and k and v for k, v in (dimensions or {}).items())


LineFormSet = forms.formset_factory(EntryLineForm, extra=0, max_num=1000, absolute_max=1000)


def account_choices(user) -> list[Account]:
    """Posting accounts the user may use: those of the organisations where they prepare entries."""
    return list(Account.objects.filter(organisation_id__in=entities_for(user, PREPARE).values("organisation_id"),
                                       kind=AccountKind.POSTING, is_active=True).order_by("code"))


def counterparty_choices(user) -> list[Entity]:
    """Entities of the organisations where the user prepares entries: the counterparty cell's list."""
    return list(Entity.objects.filter(organisation_id__in=entities_for(user, PREPARE).values("organisation_id"))
                .order_by("code").only("code", "name"))


def resolve_account(organisation_id: int, text: str) -> tuple[Account | None, str]:
    """An account of the organisation by code, by "code name" (the picker's text) or by name."""
    text = text.strip()
    qs = Account.objects.filter(organisation_id=organisation_id)
    code = text.split(" ", 1)[0].split("\u2013", 1)[0].strip()
    found = qs.filter(code=text).first() or qs.filter(code=code).first()
    if found is not None:
        return found, ""
    named = list(qs.filter(name__iexact=text)[:2])
    if len(named) == 1:
        return named[0], ""
    if len(named) > 1:
        return None, f"Several accounts are named “{text}”: enter the code."
    return None, f"No account with the code or name “{text}”."


# ---- the page ------------------------------------------------------------------------------------

@dataclass
class Grid:
    header: EntryHeaderForm
    lines: forms.BaseFormSet
    errors: list[str]


def _initial_lines(entry: JournalEntry | None) -> list[dict]:
    if entry is None:
        return []
    out = []
    for ln in entry.lines.select_related("account", "counterparty").order_by("line_no"):
        out.append({"account": ln.account.code, "debit": ln.amount if ln.amount > 0 else None,
                    "credit": -ln.amount if ln.amount < 0 else None,
                    "currency": "" if ln.currency == entry.entity.functional_currency else ln.currency,
                    "rate": None if ln.rate == 1 else ln.rate.normalize(), "memo": ln.memo,
                    "counterparty": ln.counterparty.code if ln.counterparty_id else "",
                    "dimensions": dimensions_text(ln.dimensions)})
    return out


def form_editable(entry: JournalEntry) -> bool:
    """Drafts whose lines the grid can show whole: every dimension readable as name=value (a name
    or value holding ``;`` or ``=``, possible through the API, is changed through the API)."""
    if entry.status != EntryStatus.DRAFT:
        return False
    return all(_representable(d) for d in entry.lines.exclude(dimensions={}).values_list("dimensions", flat=True))


def _counterparty(entity: Entity, code: str) -> tuple[Entity | None, str]:
    """Another entity of the entry's organisation, by code (any case)."""
    found = Entity.objects.filter(organisation_id=entity.organisation_id, code__iexact=code).first()
    if found is None:
        return None, f"No entity with the code “{code}” in {entity.organisation.name}."
    if found.pk == entity.pk:
        return None, "The counterparty is another entity, not the entry's own."
    return found, ""


def _entry_input(grid: Grid, entity: Entity, used: list[int]) -> EntryInput | None:
    """The service's input from the grid, or None after marking every line's own errors
    (accounts are looked up on every line, also when another cell of the grid is wrong)."""
    lines: list[LineInput] = []
    for i, form in enumerate(grid.lines.forms):
        data = getattr(form, "cleaned_data", {})
        if not form.errors and form.is_blank():
            continue
        account, problem = (resolve_account(entity.organisation_id, data["account"]) if data.get("account")
                            else (None, ""))
        if problem:
            form.add_error("account", problem)
        counterparty = None
        if data.get("counterparty"):
            counterparty, problem = _counterparty(entity, data["counterparty"])
            if problem:
                form.add_error("counterparty", problem)
        if form.errors or account is None:
            continue
        amount = data["debit"] if data.get("debit") else -data["credit"]
        lines.append(LineInput(account_id=account.pk, amount=amount, currency=(data.get("currency") or "").upper()
                               or None, rate=data.get("rate") or Decimal(1), memo=data.get("memo") or "",
                               counterparty_id=counterparty.pk if counterparty else None,
                               dimensions=data.get("dimensions") or {}))
        used.append(i)
    if any(f.errors for f in grid.lines.forms) or not grid.header.is_valid():
        return None
    h = grid.header.cleaned_data
    return EntryInput(entry_date=h["entry_date"], description=h["description"], reference=h.get("reference") or "",
                      period_id=h["period"].pk if h.get("period") else None, lines=lines,
                      reverse_on=h.get("reverse_on"), auto_reverse=bool(h.get("auto_reverse")))


_LINE_FIELD_MAP = {"account": "account", "currency": "currency", "rate": "rate", "counterparty": "counterparty",
                   "dimensions": "dimensions", "memo": "memo"}


def line_error_summary(lines: forms.BaseFormSet) -> list[str]:
    """Every line's errors as sentences naming the line and the field ("Line 3, counterparty: …"),
    shown above the grid so a long grid's refusals are read without scrolling for a red cell."""
    out: list[str] = []
    for no, form in enumerate(lines.forms, start=1):
        for field, errors in form.errors.items():
            where = f"Line {no}" if field == "__all__" else f"Line {no}, {LINE_FIELD_LABELS.get(field, field)}"
            out.extend(f"{where}: {message}" for message in errors)
    return out


def _show_validation(grid: Grid, exc: SheshiError, used: list[int]) -> None:
    """Put each of the service's field errors where it belongs: a header field, a line's cell,
    or above the grid."""
    for err in exc.errors:
        field = err.field
        if field.startswith("lines[") and "]" in field:
            idx = int(field[6:field.index("]")])
            sub = field[field.index("]") + 2:] if "]." in field else ""
            form = grid.lines.forms[used[idx]] if idx < len(used) else None
            if form is None:
                grid.errors.append(err.message)
            elif sub == "amount":
                form.add_error("debit" if form.cleaned_data.get("debit") else "credit", err.message)
            elif sub in _LINE_FIELD_MAP:
                form.add_error(_LINE_FIELD_MAP[sub], err.message)
            else:
                form.add_error(None, err.message)
        elif field in grid.header.fields and field != "entity":
            grid.header.add_error(field, err.message)
        else:
            grid.errors.append(err.message)
    if not exc.errors:
        grid.errors.append(exc.detail)


def entry_form_view(modeladmin, request, entry: JournalEntry | None = None, extra_context: dict | None = None):
    """Enter a new draft (``entry`` None) or edit a draft; "Save and submit" also submits it."""
    user = request.user
    opts = modeladmin.model._meta
    if request.method == "POST":
        grid = Grid(EntryHeaderForm(request.POST, user=user, entry=entry,
                                    initial={"entity": entry.entity} if entry else None),
                    LineFormSet(request.POST, prefix="lines"), [])
        grid.lines.is_valid()  # each line's own errors; the grid as a whole is checked by the service
        saved = _save(modeladmin, request, grid, entry)
        if saved is not None:
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[saved.pk]))
    else:
        initial = {"entity": entry.entity, "entry_date": entry.entry_date, "period": entry.period,
                   "description": entry.description, "reference": entry.reference,
                   "auto_reverse": entry.reverse_on is not None, "reverse_on": entry.reverse_on} if entry else {}
        header = EntryHeaderForm(user=user, entry=entry, initial=initial)
        if entry is None and header.fields["entity"].queryset.count() == 1:
            header.initial["entity"] = header.fields["entity"].queryset.first()
        rows = _initial_lines(entry)
        grid = Grid(header, LineFormSet(prefix="lines", initial=rows + [{}] * max(2, 4 - len(rows))), [])
    title = f"Edit draft entry {entry.pk}" if entry else "Enter a journal entry"
    context = {**modeladmin.admin_site.each_context(request), "title": title, "opts": opts, "entry": entry,
               "original": entry, "header": grid.header, "lines": grid.lines, "grid_errors": grid.errors,
               "accounts": account_choices(user), "counterparties": counterparty_choices(user),
               "line_errors": line_error_summary(grid.lines) if request.method == "POST" else [],
               "recurrence_id": _recurrence_of(entry),
               "has_view_permission": True,
               "media": modeladmin.media + grid.header.media, **(extra_context or {})}
    return TemplateResponse(request, "admin/ledger/journalentry/entry_form.html", context)


def _recurrence_of(entry: JournalEntry | None) -> int | None:
    """The recurrence that drafted ``entry`` (its run names the entry), for the page's source line."""
    if entry is None or entry.source != EntrySource.RECURRING:
        return None
    return (JournalRecurrenceRun.objects.filter(organisation_id=entry.organisation_id, entry_id=entry.pk)
            .values_list("recurrence_id", flat=True).first())


def _save(modeladmin, request, grid: Grid, entry: JournalEntry | None) -> JournalEntry | None:
    grid.header.is_valid()  # cleaned_data then holds the header fields that are valid
    entity = entry.entity if entry is not None else grid.header.cleaned_data.get("entity")
    if entity is None:
        return None
    used: list[int] = []
    data = _entry_input(grid, entity, used)
    if data is None:
        return None
    try:
        with transaction.atomic():
            if entry is None:
                saved = services.journal_entry_create(actor=request.user, entity=entity, entry=data).entry
            else:
                saved = services.journal_entry_update(actor=request.user, entry_id=entry.pk, entry=data)
    except (ValidationFailed, EntryUnbalancedError) as exc:  # field errors: shown on their field or line
        _show_validation(grid, exc, used)
        return None
    except (SheshiError, DatabaseError) as exc:
        grid.errors.append(human_message(exc))
        return None
    modeladmin.message_user(request, f"Draft entry {saved.pk} saved.", messages.SUCCESS)
    if "_submit" in request.POST:
        try:
            services.journal_entry_submit(actor=request.user, entry_id=saved.pk)
            modeladmin.message_user(request, f"Entry {saved.pk} submitted for approval.", messages.SUCCESS)
        except (SheshiError, DatabaseError) as exc:
            modeladmin.message_user(request, f"Entry {saved.pk} was saved but not submitted: {human_message(exc)}",
                                    messages.ERROR)
    return saved
