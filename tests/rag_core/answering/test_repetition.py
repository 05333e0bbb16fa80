"""An answer that loops is cut where it starts repeating itself (text from the 0.5B's
Spanish answers, which repeated a right answer until the token limit)."""

from __future__ import annotations

from rag_core.answering.repetition import repeat_start, without_repetition

HOTEL = (
    "Las noches de hotel se reembolsan hasta 150 EUR en la mayoría de las ciudades y hasta "
    "220 EUR en las capitales [1]. La compañía no reembolsa el minibar [1]."
)
FLIGHTS = (
    "Vuelos\n\nLos empleados reservan clase turista para vuelos de menos de seis horas [1]. "
    "La clase business se permite en vuelos de seis horas o más, con la aprobación de un jefe "
    "de departamento [1].\n"
)


def test_a_loop_is_cut_after_its_first_copy() -> None:
    cut_off = FLIGHTS * 5 + FLIGHTS[:90] + " [1]"  # the token limit, mid-sentence
    assert without_repetition(cut_off) == FLIGHTS.rstrip()  # the repeated heading too
    assert without_repetition(f"{HOTEL}\n\n{HOTEL}\n\nLas noches de") == HOTEL
    # the model copying its source block twice, header and all
    header = "[1] politica-viajes.md, section “Política de viajes > Hoteles”\n"
    copied = header + HOTEL.replace(" [1]", "")
    assert without_repetition(f"{copied}\n\n{copied}") == copied
    # a finished answer that restates its last sentence says it once
    assert without_repetition(f"{HOTEL} La compañía no reembolsa el minibar [1].") == HOTEL


def test_an_answer_that_does_not_loop_is_kept_whole() -> None:
    steps = (
        "1. Run sudo apt update to refresh the lists [1].\n"
        "2. Run sudo apt upgrade to install them [1].\n"
        "3. Run sudo apt update to refresh the lists [1].\n"
        "4. Reboot the machine [1]."
    )
    assert repeat_start(steps) is None  # one step named twice is not a loop
    assert without_repetition(HOTEL) == HOTEL
    short = "Yes [1]. Yes [1]."  # too short to call a loop
    assert without_repetition(short) == short
    # while the answer is still streaming, a repeated last sentence may be the loop's
    # start or a restatement: wait for the next one
    restated = f"{HOTEL} La compañía no reembolsa el minibar [1]."
    assert repeat_start(restated, finished=False) is None
    assert repeat_start(restated + " Las noches de hotel se", finished=False) is None
