"""CURRENCY must be an ISO 4217 code in use; amounts are integers in its minor unit."""

# Active ISO 4217 alphabetic codes (list one, 2024), fund and metal codes left out.
_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
ISO_4217 = frozenset(_CODES.split())  # noqa: SIM905 (a table reads better than 170 literals)


def validate_currency(code: str) -> str:
    """The code itself, or a RuntimeError at start-up: a typo must not reach a receipt."""
    if code not in ISO_4217:
        raise RuntimeError(f"CURRENCY must be an ISO 4217 currency code such as USD or EUR, not {code!r}")
    return code


# ISO 4217 minor-unit exponents other than 2 (list one, 2024).
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {**dict.fromkeys(_ZERO.split(), 0), **dict.fromkeys(_THREE.split(), 3)}


def format_amount(amount: int, currency: str) -> str:
    """Minor units as people read them: 125 USD -> "1.25 USD", 125 JPY -> "125 JPY"."""
    exponent = _EXPONENTS.get(currency, 2)
    if exponent == 0:
        return f"{amount} {currency}"
    sign, units = ("-" if amount < 0 else ""), abs(amount)
    major, minor = divmod(units, 10 ** exponent)
    return f"{sign}{major}.{minor:0{exponent}d} {currency}"
