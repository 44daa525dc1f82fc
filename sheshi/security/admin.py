from django import forms
from django.contrib import admin

from sheshi.access.roles import MANAGE
from sheshi.admin_writes import ServiceAdmin
from sheshi.security.models import EntityBankDetails
from sheshi.security.services import entity_bank_details_set
from sheshi.tenancy.models import Entity
from sheshi.tenancy.scoping import entity_ids_for


class BankDetailsForm(forms.ModelForm):
    """The IBAN and tax id are write-only here: the form never renders the stored values."""

    iban = forms.CharField(widget=forms.PasswordInput(render_value=False), required=True,
                           help_text="Stored encrypted; shown masked. Re-enter to change.")
    tax_id = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)

    class Meta:
        model = EntityBankDetails
        fields = ["entity", "label", "bank_name", "bic", "iban", "tax_id"]


@admin.register(EntityBankDetails)
class EntityBankDetailsAdmin(ServiceAdmin, admin.ModelAdmin):
    """Saved through entity_bank_details_set (permission, validation, encryption); an invalid IBAN
    or a missing permission is an error on the form. Never deleted here: no service removes them."""

    writes_through = "sheshi.security.services.entity_bank_details_set"
    form = BankDetailsForm
    list_display = ["entity", "label", "bank_name", "bic", "iban_masked", "tax_id_masked", "updated_at"]
    list_filter = ["entity__organisation"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(entity_id__in=entity_ids_for(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "entity":
            kwargs["queryset"] = Entity.objects.filter(id__in=entity_ids_for(request.user, MANAGE))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = self.call_service(entity_bank_details_set, actor=request.user, entity=form.cleaned_data["entity"],
                                        iban=form.cleaned_data["iban"], tax_id=form.cleaned_data["tax_id"],
                                        bic=form.cleaned_data["bic"], bank_name=form.cleaned_data["bank_name"],
                                        label=form.cleaned_data["label"])
        obj.pk = saved.pk
