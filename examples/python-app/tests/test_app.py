def test_placeholder_for_context_size():
    assert True
