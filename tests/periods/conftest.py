import pytest

from tests.ledger.helpers import build_world


@pytest.fixture
def world(db):
    return build_world()
