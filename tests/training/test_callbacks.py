"""StepMultiples: once per multiple of the frequency crossed, counted from the start step."""

from mnist_gan.training.callbacks import StepMultiples


def fired(start, steps, frequency):
    multiples = StepMultiples()
    multiples.start(start, frequency)
    return [s for s in steps if multiples.crossed(lambda s=s: s, frequency)]


def test_fires_once_per_multiple_even_when_a_batch_jumps_several_steps():
    assert fired(0, range(1, 11), 3) == [3, 6, 9]
    assert fired(0, [4, 8, 12, 13], 5) == [8, 12]  # steps_per_execution=4 jumps over 5 and 10
    assert fired(7, [8, 9, 10], 3) == [9]  # resumed at 7: 6 is behind, 9 is next


def test_frequency_zero_never_fires_nor_reads_the_step():
    multiples = StepMultiples()
    multiples.start(0, 0)
    assert not multiples.crossed(lambda: 1 / 0, 0)
