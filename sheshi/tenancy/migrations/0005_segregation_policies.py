"""Segregation-of-duties policies of an organisation, on by default (issue #15 item 4): the poster
is not the preparer; a reversal goes through approval."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tenancy', '0004_trust'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalorganisation',
            name='poster_not_preparer',
            field=models.BooleanField(default=True, db_default=True, help_text='The user who posts an entry is not the one who prepared it (system postings and system sources excepted).'),
        ),
        migrations.AddField(
            model_name='historicalorganisation',
            name='reversal_needs_approval',
            field=models.BooleanField(default=True, db_default=True, help_text='A reversal is created submitted and goes through approval instead of posting at once.'),
        ),
        migrations.AddField(
            model_name='organisation',
            name='poster_not_preparer',
            field=models.BooleanField(default=True, db_default=True, help_text='The user who posts an entry is not the one who prepared it (system postings and system sources excepted).'),
        ),
        migrations.AddField(
            model_name='organisation',
            name='reversal_needs_approval',
            field=models.BooleanField(default=True, db_default=True, help_text='A reversal is created submitted and goes through approval instead of posting at once.'),
        ),
    ]
