import pytest

from .pack_client import PackClient


@pytest.fixture(scope="session")
def pack():
    """One running policy pack for the whole session, every policy mandatory."""
    with PackClient() as client:
        yield client
