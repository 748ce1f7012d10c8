//! `arg_max`/`arg_min` in one pass: `__kql_arg_max(value, key)` returns `value` from the
//! row with the greatest `key` of its group (`__kql_arg_min`: the smallest), for keys of
//! a primitive Arrow type (integers, floats, decimals, dates, times, timestamps,
//! durations). The value may be of any Arrow type.
//!
//! Why not `first_value(value ORDER BY key DESC NULLS LAST)`: DataFusion's
//! `FirstLastGroupsAccumulator` compares `ScalarValue`s row by row (4.6 s for 10M rows and
//! 50k groups). Here each group keeps its best key as a native number and a pointer to
//! the row holding its value; values are copied (with `interleave`) only when groups are
//! emitted or when the retained input arrays are compacted.
//!
//! Semantics, equal to the `first_value` plan for the same rows in the same order:
//! - the row with the greatest (smallest) non-null key wins;
//! - a row with a null key wins only when its group has no non-null key, and then the
//!   first such row;
//! - ties keep the first row seen (strict comparison), so the accumulators of the
//!   several result columns of one `arg_max`, which see the same rows in the same order,
//!   pick the same row;
//! - floats compare by IEEE 754 totalOrder, as DataFusion's `max()`/`min()` and its sort
//!   do: a (positive) NaN is greater than every number (`arg_max` picks a NaN row when
//!   there is one, `arg_min` picks it only when all keys are NaN or null), and -0.0 < 0.0.
//!
//! The intermediate state is `[value, key, is_set]`: `is_set` tells a group that saw
//! only null keys (it has a value) from a group that saw no row at all (filtered out, or
//! a row of `convert_to_state` that a filter dropped), which a null key cannot.

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, ArrowNativeTypeOp, ArrowPrimitiveType, AsArray, BooleanArray,
    PrimitiveArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{internal_err, not_impl_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{format_state_name, AggregateOrderSensitivity};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, GroupsAccumulator, Signature,
    Volatility,
};
use std::fmt;
use std::mem::size_of;
use std::sync::Arc;

/// Rows the retained value arrays may hold beyond two per group before they are
/// compacted: a few batches' worth, so that compaction (O(groups)) stays amortized O(1)
/// per input row.
const COMPACT_SLACK_ROWS: usize = 4 * 8192;

/// Runs `$body` with `$K` bound to the `ArrowPrimitiveType` of a key type this module
/// compares natively, or `$otherwise` for any other type.
macro_rules! with_key_type {
    (@bind $K:ident = $T:ty, $body:expr) => {{
        type $K = $T;
        $body
    }};
    ($key_type:expr, $K:ident => $body:expr, _ => $otherwise:expr) => {{
        use ::datafusion::arrow::datatypes::{self as t, DataType as D, TimeUnit as U};
        match $key_type {
            D::Int8 => with_key_type!(@bind $K = t::Int8Type, $body),
            D::Int16 => with_key_type!(@bind $K = t::Int16Type, $body),
            D::Int32 => with_key_type!(@bind $K = t::Int32Type, $body),
            D::Int64 => with_key_type!(@bind $K = t::Int64Type, $body),
            D::UInt8 => with_key_type!(@bind $K = t::UInt8Type, $body),
            D::UInt16 => with_key_type!(@bind $K = t::UInt16Type, $body),
            D::UInt32 => with_key_type!(@bind $K = t::UInt32Type, $body),
            D::UInt64 => with_key_type!(@bind $K = t::UInt64Type, $body),
            D::Float16 => with_key_type!(@bind $K = t::Float16Type, $body),
            D::Float32 => with_key_type!(@bind $K = t::Float32Type, $body),
            D::Float64 => with_key_type!(@bind $K = t::Float64Type, $body),
            D::Decimal32(_, _) => with_key_type!(@bind $K = t::Decimal32Type, $body),
            D::Decimal64(_, _) => with_key_type!(@bind $K = t::Decimal64Type, $body),
            D::Decimal128(_, _) => with_key_type!(@bind $K = t::Decimal128Type, $body),
            D::Decimal256(_, _) => with_key_type!(@bind $K = t::Decimal256Type, $body),
            D::Date32 => with_key_type!(@bind $K = t::Date32Type, $body),
            D::Date64 => with_key_type!(@bind $K = t::Date64Type, $body),
            D::Time32(U::Second) => with_key_type!(@bind $K = t::Time32SecondType, $body),
            D::Time32(U::Millisecond) => with_key_type!(@bind $K = t::Time32MillisecondType, $body),
            D::Time64(U::Microsecond) => with_key_type!(@bind $K = t::Time64MicrosecondType, $body),
            D::Time64(U::Nanosecond) => with_key_type!(@bind $K = t::Time64NanosecondType, $body),
            D::Timestamp(U::Second, _) => with_key_type!(@bind $K = t::TimestampSecondType, $body),
            D::Timestamp(U::Millisecond, _) => with_key_type!(@bind $K = t::TimestampMillisecondType, $body),
            D::Timestamp(U::Microsecond, _) => with_key_type!(@bind $K = t::TimestampMicrosecondType, $body),
            D::Timestamp(U::Nanosecond, _) => with_key_type!(@bind $K = t::TimestampNanosecondType, $body),
            D::Duration(U::Second) => with_key_type!(@bind $K = t::DurationSecondType, $body),
            D::Duration(U::Millisecond) => with_key_type!(@bind $K = t::DurationMillisecondType, $body),
            D::Duration(U::Microsecond) => with_key_type!(@bind $K = t::DurationMicrosecondType, $body),
            D::Duration(U::Nanosecond) => with_key_type!(@bind $K = t::DurationNanosecondType, $body),
            _ => $otherwise,
        }
    }};
}

/// The aggregate UDF behind `arg_max`/`arg_min` result columns.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ArgExtreme {
    is_max: bool,
    signature: Signature,
}

impl ArgExtreme {
    /// `value` of the row with the greatest (`is_max`) or smallest `key`.
    pub(crate) fn call(is_max: bool, value: Expr, key: Expr) -> Expr {
        AggregateUDF::new_from_impl(ArgExtreme {
            is_max,
            signature: Signature::any(2, Volatility::Immutable),
        })
        .call(vec![value, key])
    }

    /// Whether keys of this type take the native path (else plan `first_value`).
    pub(crate) fn supports_key(key_type: &DataType) -> bool {
        with_key_type!(key_type, _K => true, _ => false)
    }
}

/// The value and key types of the call, from its argument fields.
fn arg_types<'a>(args: &'a AccumulatorArgs) -> Result<(&'a DataType, &'a DataType)> {
    match args.expr_fields {
        [value, key] => Ok((value.data_type(), key.data_type())),
        _ => plan_err!("{} expects two arguments (value, key)", args.name),
    }
}

impl AggregateUDFImpl for ArgExtreme {
    fn name(&self) -> &str {
        if self.is_max {
            "__kql_arg_max"
        } else {
            "__kql_arg_min"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [value, _] => Ok(value.clone()),
            _ => plan_err!("{} expects two arguments (value, key)", self.name()),
        }
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        let [value, _] = arg_fields else {
            return plan_err!("{} expects two arguments (value, key)", self.name());
        };
        // Nullable: a group may have no row with a value; the KQL type rides in metadata.
        Ok(Arc::new(
            Field::new(self.name(), value.data_type().clone(), true)
                .with_metadata(value.metadata().clone()),
        ))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let [_, key] = args.input_fields else {
            return plan_err!("{} expects two arguments (value, key)", self.name());
        };
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                args.return_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "key"),
                key.data_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "is_set"),
                DataType::Boolean,
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (value_type, key_type) = arg_types(&args)?;
        with_key_type!(key_type, K => Ok(Box::new(ArgExtremeAccumulator::<K>::new(
            self.is_max,
            value_type,
            key_type,
        )?)), _ => not_impl_err!("{} over keys of type {key_type}", self.name()))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        arg_types(&args).is_ok_and(|(_, key)| ArgExtreme::supports_key(key))
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (value_type, key_type) = arg_types(&args)?;
        with_key_type!(key_type, K => Ok(Box::new(ArgExtremeGroups::<K>::new(
            self.is_max,
            value_type,
            key_type,
        ))), _ => not_impl_err!("{} over keys of type {key_type}", self.name()))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        // No ORDER BY: the key is an argument. (Ties go to the first row seen, as with
        // DataFusion's `first_value`, which declares no more than this either.)
        AggregateOrderSensitivity::Insensitive
    }
}

/// Which of two keys wins: greatest or smallest, decided once per batch, not per row.
trait Pick {
    fn better<N: ArrowNativeTypeOp>(new: N, old: N) -> bool;
}

struct Greatest;
struct Smallest;

impl Pick for Greatest {
    #[inline]
    fn better<N: ArrowNativeTypeOp>(new: N, old: N) -> bool {
        new.is_gt(old)
    }
}

impl Pick for Smallest {
    #[inline]
    fn better<N: ArrowNativeTypeOp>(new: N, old: N) -> bool {
        new.is_lt(old)
    }
}

/// What a group has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Seen {
    #[default]
    Nothing,
    /// Rows, all with a null key: the first of them is the best.
    NullKey,
    /// A row with a non-null key; `Best::key` is the best of them.
    Key,
}

/// The best row of one group, as far as its key goes.
#[derive(Clone, Copy, Debug, Default)]
struct Best<N> {
    key: N,
    seen: Seen,
}

impl<N: ArrowNativeTypeOp> Best<N> {
    /// Offers a row; true when it becomes the group's best.
    #[inline]
    fn offer<P: Pick>(&mut self, key: Option<N>) -> bool {
        match key {
            Some(k) if self.seen != Seen::Key || P::better(k, self.key) => {
                self.key = k;
                self.seen = Seen::Key;
                true
            }
            None if self.seen == Seen::Nothing => {
                self.seen = Seen::NullKey;
                true
            }
            _ => false,
        }
    }
}

/// The rows a filter lets through (a null filter value drops the row, as in SQL).
fn passing_rows(filter: &BooleanArray) -> BooleanBuffer {
    match filter.nulls() {
        Some(nulls) => filter.values() & nulls.inner(),
        None => filter.values().clone(),
    }
}

/// Offers each row that passes `filter` to its group's best (`group_of(row)` indexes
/// `bests`), calling `won(group, row)` whenever a row becomes its group's best.
fn scan<K: ArrowPrimitiveType, P: Pick>(
    bests: &mut [Best<K::Native>],
    keys: &PrimitiveArray<K>,
    group_of: impl Fn(usize) -> usize,
    filter: Option<&BooleanArray>,
    mut won: impl FnMut(usize, usize),
) -> Result<()> {
    let values = keys.values();
    let nulls = keys.nulls().filter(|n| n.null_count() > 0);
    if let Some(f) = filter {
        if f.len() != keys.len() {
            return internal_err!("filter of {} rows for {} keys", f.len(), keys.len());
        }
    }
    let filter = filter.map(passing_rows);
    if nulls.is_none() && filter.is_none() {
        for (row, &k) in values.iter().enumerate() {
            let g = group_of(row);
            let Some(best) = bests.get_mut(g) else {
                return internal_err!("group index {g} out of range");
            };
            if best.offer::<P>(Some(k)) {
                won(g, row);
            }
        }
        return Ok(());
    }
    for (row, &k) in values.iter().enumerate() {
        if filter.as_ref().is_some_and(|f| !f.value(row)) {
            continue;
        }
        let key = match nulls {
            Some(n) if n.is_null(row) => None,
            _ => Some(k),
        };
        let g = group_of(row);
        let Some(best) = bests.get_mut(g) else {
            return internal_err!("group index {g} out of range");
        };
        if best.offer::<P>(key) {
            won(g, row);
        }
    }
    Ok(())
}

/// [`scan`] for `arg_max` (`is_max`) or `arg_min`.
fn scan_for<K: ArrowPrimitiveType>(
    is_max: bool,
    bests: &mut [Best<K::Native>],
    keys: &PrimitiveArray<K>,
    group_of: impl Fn(usize) -> usize,
    filter: Option<&BooleanArray>,
    won: impl FnMut(usize, usize),
) -> Result<()> {
    if is_max {
        scan::<K, Greatest>(bests, keys, group_of, filter, won)
    } else {
        scan::<K, Smallest>(bests, keys, group_of, filter, won)
    }
}

/// The (value, key) arguments of a batch (or the first two arrays of a state).
fn value_and_keys<K: ArrowPrimitiveType>(
    values: &[ArrayRef],
) -> Result<(&ArrayRef, &PrimitiveArray<K>)> {
    let [value, key, ..] = values else {
        return internal_err!(
            "arg_max/arg_min expects (value, key), got {} arrays",
            values.len()
        );
    };
    let Some(keys) = key.as_primitive_opt::<K>() else {
        return internal_err!("arg_max/arg_min key of unexpected type {}", key.data_type());
    };
    if value.len() != keys.len() {
        return internal_err!("{} values for {} keys", value.len(), keys.len());
    }
    Ok((value, keys))
}

/// The `is_set` array of a state.
fn is_set_of(states: &[ArrayRef]) -> Result<&BooleanArray> {
    match states.get(2).and_then(|a| a.as_boolean_opt()) {
        Some(b) => Ok(b),
        None => internal_err!("arg_max/arg_min state lacks its is_set column"),
    }
}

/// Best keys as an array of the key's type (null where the group has no non-null key).
fn key_array<K: ArrowPrimitiveType>(
    bests: &[Best<K::Native>],
    key_type: &DataType,
) -> Result<ArrayRef> {
    if !PrimitiveArray::<K>::is_compatible(key_type) {
        return internal_err!(
            "arg_max/arg_min key type {key_type} is not {}",
            K::DATA_TYPE
        );
    }
    let values: ScalarBuffer<K::Native> = bests.iter().map(|b| b.key).collect();
    let nulls = NullBuffer::from_iter(bests.iter().map(|b| b.seen == Seen::Key));
    let keys = PrimitiveArray::<K>::new(values, Some(nulls)).with_data_type(key_type.clone());
    Ok(Arc::new(keys))
}

/// Copies of view arrays keep only the strings they reference: `interleave` would keep
/// every data buffer any retained row points into.
fn compacted_views(a: ArrayRef) -> ArrayRef {
    if let Some(s) = a.as_string_view_opt() {
        return Arc::new(s.gc());
    }
    if let Some(b) = a.as_binary_view_opt() {
        return Arc::new(b.gc());
    }
    a
}

/// `EmitTo::First(n)` with `n` no greater than the number of groups.
fn clamp(emit_to: EmitTo, groups: usize) -> EmitTo {
    match emit_to {
        EmitTo::First(n) if n < groups => EmitTo::First(n),
        _ => EmitTo::All,
    }
}

/// The grouped accumulator: per group the best key and a pointer (retained array,
/// row) to its value; input value arrays are retained only when some group's best row
/// is in them, and compacted when they hold many more rows than there are groups.
struct ArgExtremeGroups<K: ArrowPrimitiveType> {
    is_max: bool,
    value_type: DataType,
    key_type: DataType,
    bests: Vec<Best<K::Native>>,
    /// Per group, where its best row's value is: (index into `retained`, row). Meaningful
    /// when the group's `seen` is not `Nothing`.
    rows: Vec<(usize, usize)>,
    retained: Vec<ArrayRef>,
    retained_rows: usize,
    retained_bytes: usize,
    slack_rows: usize,
}

impl<K: ArrowPrimitiveType> ArgExtremeGroups<K> {
    fn new(is_max: bool, value_type: &DataType, key_type: &DataType) -> Self {
        ArgExtremeGroups {
            is_max,
            value_type: value_type.clone(),
            key_type: key_type.clone(),
            bests: Vec::new(),
            rows: Vec::new(),
            retained: Vec::new(),
            retained_rows: 0,
            retained_bytes: 0,
            slack_rows: COMPACT_SLACK_ROWS,
        }
    }

    /// Offers the rows of one batch (or state batch) to their groups.
    fn offer(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let (value, keys) = value_and_keys::<K>(values)?;
        if group_indices.len() != keys.len() {
            return internal_err!(
                "{} group indices for {} rows",
                group_indices.len(),
                keys.len()
            );
        }
        if self.bests.len() < total_num_groups {
            self.bests.resize(total_num_groups, Best::default());
            self.rows.resize(total_num_groups, (0, 0));
        }
        let batch = self.retained.len();
        let mut touched = false;
        let rows = &mut self.rows;
        let won = |g: usize, row: usize| {
            rows[g] = (batch, row);
            touched = true;
        };
        let group_of = |row: usize| group_indices[row];
        scan_for::<K>(self.is_max, &mut self.bests, keys, group_of, filter, won)?;
        if touched {
            self.retain(Arc::clone(value));
            self.maybe_compact()?;
        }
        Ok(())
    }

    fn retain(&mut self, a: ArrayRef) {
        self.retained_rows += a.len();
        self.retained_bytes += a.get_array_memory_size();
        self.retained.push(a);
    }

    fn clear_retained(&mut self) {
        self.retained.clear();
        self.retained_rows = 0;
        self.retained_bytes = 0;
    }

    fn maybe_compact(&mut self) -> Result<()> {
        if self.retained_rows > 2 * self.bests.len() + self.slack_rows {
            self.compact()?;
        }
        Ok(())
    }

    /// Copies the best rows' values into one array (in group order) and points the
    /// groups at it, dropping the arrays retained so far.
    fn compact(&mut self) -> Result<()> {
        let indices: Vec<(usize, usize)> = self
            .bests
            .iter()
            .zip(&self.rows)
            .filter(|(b, _)| b.seen != Seen::Nothing)
            .map(|(_, &r)| r)
            .collect();
        let compacted = if indices.is_empty() {
            None
        } else {
            let sources: Vec<&dyn Array> = self.retained.iter().map(|a| a.as_ref()).collect();
            Some(compacted_views(interleave(&sources, &indices)?))
        };
        let mut next = 0;
        for (b, r) in self.bests.iter().zip(self.rows.iter_mut()) {
            if b.seen != Seen::Nothing {
                *r = (0, next);
                next += 1;
            }
        }
        self.clear_retained();
        if let Some(a) = compacted {
            self.retain(a);
        }
        Ok(())
    }

    /// Removes the first `n` groups (or all) and returns their bests and values; groups
    /// without a row take their (null) value from a one-row null array after the
    /// retained ones.
    fn take(&mut self, emit_to: EmitTo) -> Result<(Vec<Best<K::Native>>, ArrayRef)> {
        let emit_to = clamp(emit_to, self.bests.len());
        let bests = emit_to.take_needed(&mut self.bests);
        let rows = emit_to.take_needed(&mut self.rows);
        let null = new_null_array(&self.value_type, 1);
        let null_source = self.retained.len();
        let indices: Vec<(usize, usize)> = bests
            .iter()
            .zip(rows)
            .map(|(b, r)| match b.seen {
                Seen::Nothing => (null_source, 0),
                _ => r,
            })
            .collect();
        let mut sources: Vec<&dyn Array> = self.retained.iter().map(|a| a.as_ref()).collect();
        sources.push(null.as_ref());
        let values = interleave(&sources, &indices)?;
        match emit_to {
            EmitTo::All => self.clear_retained(),
            EmitTo::First(_) => self.maybe_compact()?,
        }
        Ok((bests, values))
    }
}

impl<K: ArrowPrimitiveType> GroupsAccumulator for ArgExtremeGroups<K> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.offer(values, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.take(emit_to)?.1)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (bests, values) = self.take(emit_to)?;
        let keys = key_array::<K>(&bests, &self.key_type)?;
        let is_set: BooleanArray = bests
            .iter()
            .map(|b| Some(b.seen != Seen::Nothing))
            .collect();
        Ok(vec![values, keys, Arc::new(is_set)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        // A state row is a row like any other, except that an unset one is no row.
        let is_set = is_set_of(values)?;
        self.offer(values, group_indices, Some(is_set), total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let (value, keys) = value_and_keys::<K>(values)?;
        let is_set = match opt_filter {
            Some(f) if f.len() != keys.len() => {
                return internal_err!("filter of {} rows for {} keys", f.len(), keys.len());
            }
            Some(f) => BooleanArray::new(passing_rows(f), None),
            None => BooleanArray::new(BooleanBuffer::new_set(keys.len()), None),
        };
        Ok(vec![
            Arc::clone(value),
            Arc::clone(&values[1]),
            Arc::new(is_set),
        ])
    }

    fn size(&self) -> usize {
        self.bests.capacity() * size_of::<Best<K::Native>>()
            + self.rows.capacity() * size_of::<(usize, usize)>()
            + self.retained.capacity() * size_of::<ArrayRef>()
            + self.retained_bytes
    }
}

/// The ungrouped accumulator (`summarize arg_max(x, y)` with no `by`).
struct ArgExtremeAccumulator<K: ArrowPrimitiveType> {
    is_max: bool,
    key_type: DataType,
    best: Best<K::Native>,
    value: ScalarValue,
}

impl<K: ArrowPrimitiveType> fmt::Debug for ArgExtremeAccumulator<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgExtremeAccumulator")
            .field("is_max", &self.is_max)
            .field("key_type", &self.key_type)
            .field("best", &self.best)
            .field("value", &self.value)
            .finish()
    }
}

impl<K: ArrowPrimitiveType> ArgExtremeAccumulator<K> {
    fn new(is_max: bool, value_type: &DataType, key_type: &DataType) -> Result<Self> {
        Ok(ArgExtremeAccumulator {
            is_max,
            key_type: key_type.clone(),
            best: Best::default(),
            value: ScalarValue::try_from(value_type)?,
        })
    }

    fn offer(&mut self, values: &[ArrayRef], filter: Option<&BooleanArray>) -> Result<()> {
        let (value, keys) = value_and_keys::<K>(values)?;
        let mut bests = [self.best];
        let mut winner = None;
        let won = |_: usize, row: usize| winner = Some(row);
        scan_for::<K>(self.is_max, &mut bests, keys, |_| 0, filter, won)?;
        self.best = bests[0];
        if let Some(row) = winner {
            self.value = ScalarValue::try_from_array(value, row)?;
        }
        Ok(())
    }
}

impl<K: ArrowPrimitiveType> Accumulator for ArgExtremeAccumulator<K> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.offer(values, None)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        size_of::<Self>() - size_of::<ScalarValue>() + self.value.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let key = ScalarValue::try_from_array(&key_array::<K>(&[self.best], &self.key_type)?, 0)?;
        Ok(vec![
            self.value.clone(),
            key,
            ScalarValue::Boolean(Some(self.best.seen != Seen::Nothing)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let is_set = is_set_of(states)?;
        self.offer(states, Some(is_set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Float64Array, Int64Array, ListArray, StringArray, StringViewArray, TimestampNanosecondArray,
    };
    use datafusion::arrow::datatypes::{
        Float64Type, Int32Type, Int64Type, TimeUnit, TimestampNanosecondType,
    };
    use proptest::prelude::*;

    fn strs(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn keys(v: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(v.to_vec()))
    }

    fn grouped(is_max: bool) -> ArgExtremeGroups<Int64Type> {
        ArgExtremeGroups::new(is_max, &DataType::Utf8, &DataType::Int64)
    }

    fn texts(a: &ArrayRef) -> Vec<Option<String>> {
        if let Some(s) = a.as_string_view_opt() {
            return s.iter().map(|x| x.map(str::to_string)).collect();
        }
        a.as_string::<i32>()
            .iter()
            .map(|x| x.map(str::to_string))
            .collect()
    }

    fn emit_all<K: ArrowPrimitiveType>(acc: &mut ArgExtremeGroups<K>) -> Vec<Option<String>> {
        texts(&acc.evaluate(EmitTo::All).unwrap())
    }

    fn owned(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|x| x.map(str::to_string)).collect()
    }

    #[test]
    fn grouped_picks_the_greatest_and_the_smallest_key() {
        let values = strs(&[Some("a"), Some("b"), Some("c"), Some("d"), Some("e")]);
        let k = keys(&[Some(3), Some(7), Some(5), Some(1), Some(9)]);
        let groups = [0, 0, 1, 1, 0];
        for (is_max, want) in [(true, ["e", "c"]), (false, ["a", "d"])] {
            let mut acc = grouped(is_max);
            acc.update_batch(&[values.clone(), k.clone()], &groups, None, 2)
                .unwrap();
            let out = acc.evaluate(EmitTo::All).unwrap();
            assert_eq!(texts(&out), owned(&want.map(Some)));
        }
    }

    #[test]
    fn null_keys_win_only_in_a_group_without_keys_and_unseen_groups_are_null() {
        let mut acc = grouped(true);
        let values = strs(&[Some("n0"), Some("k1"), Some("n2"), Some("n3"), None]);
        let k = keys(&[None, Some(-5), None, None, Some(1)]);
        // Group 0: a null key first, then a key: the key wins. Group 1: only null keys:
        // the first. Group 2: a null value with a key. Group 3: no row.
        acc.update_batch(&[values, k], &[0, 0, 1, 1, 2], None, 4)
            .unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(texts(&out), owned(&[Some("k1"), Some("n2"), None, None]));
    }

    #[test]
    fn ties_keep_the_first_row_across_batches() {
        for is_max in [true, false] {
            let mut acc = grouped(is_max);
            acc.update_batch(
                &[
                    strs(&[Some("first"), Some("second")]),
                    keys(&[Some(4), Some(4)]),
                ],
                &[0, 0],
                None,
                1,
            )
            .unwrap();
            acc.update_batch(&[strs(&[Some("third")]), keys(&[Some(4)])], &[0], None, 1)
                .unwrap();
            assert_eq!(emit_all(&mut acc), owned(&[Some("first")]));
        }
    }

    #[test]
    fn emit_first_shifts_the_remaining_groups_down() {
        let mut acc = grouped(true);
        acc.update_batch(
            &[
                strs(&[Some("a"), Some("b"), Some("c")]),
                keys(&[Some(1), Some(2), Some(3)]),
            ],
            &[0, 1, 2],
            None,
            3,
        )
        .unwrap();
        let first = acc.evaluate(EmitTo::First(2)).unwrap();
        assert_eq!(texts(&first), owned(&[Some("a"), Some("b")]));
        // Old group 2 is now group 0; a new group 1 appears.
        acc.update_batch(
            &[strs(&[Some("d"), Some("e")]), keys(&[Some(2), Some(0)])],
            &[0, 1],
            None,
            2,
        )
        .unwrap();
        let state = acc.state(EmitTo::First(1)).unwrap();
        assert_eq!(texts(&state[0]), owned(&[Some("c")]));
        assert_eq!(state[1].as_primitive::<Int64Type>().value(0), 3);
        let rest = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(texts(&rest), owned(&[Some("e")]));
        // Emitting more groups than there are is all of them, not a panic.
        assert_eq!(acc.evaluate(EmitTo::First(5)).unwrap().len(), 0);
    }

    #[test]
    fn merged_states_equal_one_pass_over_all_rows() {
        let mut left = grouped(false);
        let mut right = grouped(false);
        left.update_batch(
            &[
                strs(&[Some("l0"), Some("l1"), Some("l2")]),
                keys(&[Some(5), None, Some(2)]),
            ],
            &[0, 1, 2],
            None,
            4,
        )
        .unwrap();
        // Group 3 has a row in `right` only; group 0 ties (left wins); group 1 gets a key.
        right
            .update_batch(
                &[
                    strs(&[Some("r0"), Some("r1"), Some("r2"), Some("r3")]),
                    keys(&[Some(5), Some(9), Some(3), None]),
                ],
                &[0, 1, 2, 3],
                Some(&BooleanArray::from(vec![true, true, true, true])),
                4,
            )
            .unwrap();
        let mut merged = grouped(false);
        for mut part in [left, right] {
            let state = part.state(EmitTo::All).unwrap();
            merged.merge_batch(&state, &[0, 1, 2, 3], 4).unwrap();
        }
        assert_eq!(
            emit_all(&mut merged),
            owned(&[Some("l0"), Some("r1"), Some("l2"), Some("r3")])
        );
    }

    #[test]
    fn a_group_without_rows_does_not_hide_a_null_key_row_in_a_later_state() {
        let mut filtered = grouped(true);
        filtered
            .update_batch(
                &[strs(&[Some("dropped")]), keys(&[Some(1)])],
                &[0],
                Some(&BooleanArray::from(vec![Some(false)])),
                1,
            )
            .unwrap();
        let mut null_key = grouped(true);
        null_key
            .update_batch(&[strs(&[Some("x")]), keys(&[None])], &[0], None, 1)
            .unwrap();
        let mut merged = grouped(true);
        for mut part in [filtered, null_key] {
            let state = part.state(EmitTo::All).unwrap();
            merged.merge_batch(&state, &[0], 1).unwrap();
        }
        assert_eq!(emit_all(&mut merged), owned(&[Some("x")]));
    }

    #[test]
    fn convert_to_state_then_merge_honours_the_filter() {
        let acc = grouped(true);
        let values = strs(&[Some("a"), Some("b"), Some("c")]);
        let k = keys(&[Some(1), Some(9), Some(2)]);
        let filter = BooleanArray::from(vec![Some(true), None, Some(true)]);
        let state = acc.convert_to_state(&[values, k], Some(&filter)).unwrap();
        let mut merged = grouped(true);
        merged.merge_batch(&state, &[0, 0, 0], 1).unwrap();
        assert_eq!(emit_all(&mut merged), owned(&[Some("c")]));
    }

    #[test]
    fn values_of_any_type_come_back_unchanged() {
        let k = keys(&[Some(1), Some(3), Some(2)]);
        let view: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("short"),
            Some("a string longer than twelve bytes"),
            None,
        ]));
        let bools: ArrayRef = Arc::new(BooleanArray::from(vec![Some(false), Some(true), None]));
        let lists: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
            Some(vec![Some(2), None]),
            None,
        ]));
        let stamps: ArrayRef = Arc::new(
            TimestampNanosecondArray::from(vec![Some(10), Some(30), Some(20)]).with_timezone("UTC"),
        );
        for values in [view, bools, lists, stamps] {
            let mut acc =
                ArgExtremeGroups::<Int64Type>::new(true, values.data_type(), &DataType::Int64);
            acc.update_batch(&[values.clone(), k.clone()], &[0, 0, 1], None, 3)
                .unwrap();
            let out = acc.evaluate(EmitTo::All).unwrap();
            assert_eq!(out.data_type(), values.data_type());
            assert_eq!(out.slice(0, 1).to_data(), values.slice(1, 1).to_data());
            assert_eq!(out.slice(1, 1).to_data(), values.slice(2, 1).to_data());
            assert!(out.is_null(2));
        }
    }

    #[test]
    fn compaction_keeps_only_the_winners() {
        let mut acc =
            ArgExtremeGroups::<Int64Type>::new(true, &DataType::Utf8View, &DataType::Int64);
        acc.slack_rows = 0;
        for batch in 0..20i64 {
            let values: ArrayRef =
                Arc::new(StringViewArray::from_iter_values((0..4).map(|r| {
                    format!("batch {batch} row {r}, long enough for a buffer")
                })));
            // Keys rise with the batch in group 0 and fall in group 1.
            let k = keys(&[Some(batch), Some(-batch), Some(batch), Some(0)]);
            acc.update_batch(&[values, k], &[0, 1, 0, 1], None, 2)
                .unwrap();
            assert!(acc.retained_rows <= 2 * 2 + 4, "{}", acc.retained_rows);
        }
        let out = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            texts(&out),
            vec![
                Some("batch 19 row 0, long enough for a buffer".to_string()),
                Some("batch 0 row 1, long enough for a buffer".to_string()),
            ]
        );
        assert!(acc.retained.is_empty());
    }

    #[test]
    fn floats_compare_by_total_order_like_max() {
        let values = strs(&[
            Some("one"),
            Some("nan"),
            Some("inf"),
            Some("-0"),
            Some("+0"),
        ]);
        let k: ArrayRef = Arc::new(Float64Array::from(vec![
            1.0,
            f64::NAN,
            f64::INFINITY,
            -0.0,
            0.0,
        ]));
        let mut max =
            ArgExtremeGroups::<Float64Type>::new(true, &DataType::Utf8, &DataType::Float64);
        max.update_batch(&[values.clone(), k.clone()], &[0; 5], None, 1)
            .unwrap();
        assert_eq!(emit_all(&mut max), owned(&[Some("nan")]));
        let mut min =
            ArgExtremeGroups::<Float64Type>::new(false, &DataType::Utf8, &DataType::Float64);
        min.update_batch(&[values.slice(3, 2), k.slice(3, 2)], &[0; 2], None, 1)
            .unwrap();
        assert_eq!(emit_all(&mut min), owned(&[Some("-0")]));
    }

    #[test]
    fn state_keeps_the_key_type_with_its_time_zone() {
        let key_type = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
        let mut acc =
            ArgExtremeGroups::<TimestampNanosecondType>::new(true, &DataType::Utf8, &key_type);
        let k: ArrayRef =
            Arc::new(TimestampNanosecondArray::from(vec![Some(5), None]).with_timezone("UTC"));
        acc.update_batch(&[strs(&[Some("a"), Some("b")]), k], &[0, 1], None, 3)
            .unwrap();
        let state = acc.state(EmitTo::All).unwrap();
        assert_eq!(state[1].data_type(), &key_type);
        assert_eq!(state[1].null_count(), 2);
        let is_set = state[2].as_boolean();
        assert_eq!(
            is_set.iter().collect::<Vec<_>>(),
            vec![Some(true), Some(true), Some(false)]
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut acc = grouped(true);
        let wrong_key: ArrayRef = Arc::new(StringArray::from(vec!["1"]));
        assert!(acc
            .update_batch(&[strs(&[Some("a")]), wrong_key], &[0], None, 1)
            .is_err());
        assert!(acc
            .update_batch(
                &[strs(&[Some("a")]), keys(&[Some(1), Some(2)])],
                &[0, 0],
                None,
                1
            )
            .is_err());
        assert!(acc
            .update_batch(&[strs(&[Some("a")]), keys(&[Some(1)])], &[0, 0], None, 1)
            .is_err());
        assert!(acc
            .update_batch(&[strs(&[Some("a")]), keys(&[Some(1)])], &[3], None, 1)
            .is_err());
        assert!(acc
            .update_batch(&[strs(&[Some("a")])], &[0], None, 1)
            .is_err());
        assert!(acc
            .merge_batch(&[strs(&[Some("a")]), keys(&[Some(1)])], &[0], 1)
            .is_err());
        let mut plain =
            ArgExtremeAccumulator::<Int64Type>::new(true, &DataType::Utf8, &DataType::Int64)
                .unwrap();
        assert!(plain.update_batch(&[strs(&[Some("a")])]).is_err());
    }

    #[test]
    fn ungrouped_accumulator_and_its_state() {
        let mut acc =
            ArgExtremeAccumulator::<Int64Type>::new(true, &DataType::Utf8, &DataType::Int64)
                .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Utf8(None));
        acc.update_batch(&[strs(&[Some("n")]), keys(&[None])])
            .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Utf8(Some("n".into())));
        acc.update_batch(&[
            strs(&[Some("a"), Some("b"), Some("c")]),
            keys(&[Some(2), Some(7), Some(7)]),
        ])
        .unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Utf8(Some("b".into())));
        let state = acc.state().unwrap();
        assert_eq!(state[1], ScalarValue::Int64(Some(7)));
        assert_eq!(state[2], ScalarValue::Boolean(Some(true)));

        let mut other =
            ArgExtremeAccumulator::<Int64Type>::new(true, &DataType::Utf8, &DataType::Int64)
                .unwrap();
        other
            .update_batch(&[strs(&[Some("z")]), keys(&[Some(8)])])
            .unwrap();
        let mut merged =
            ArgExtremeAccumulator::<Int64Type>::new(true, &DataType::Utf8, &DataType::Int64)
                .unwrap();
        for mut part in [acc, other] {
            let arrays = part
                .state()
                .unwrap()
                .iter()
                .map(|s| s.to_array())
                .collect::<Result<Vec<_>>>()
                .unwrap();
            merged.merge_batch(&arrays).unwrap();
        }
        assert_eq!(
            merged.evaluate().unwrap(),
            ScalarValue::Utf8(Some("z".into()))
        );
        assert!(merged.size() >= size_of::<ArgExtremeAccumulator<Int64Type>>());
    }

    #[test]
    fn unsupported_keys_fall_back() {
        assert!(ArgExtreme::supports_key(&DataType::Int32));
        assert!(ArgExtreme::supports_key(&DataType::Duration(
            TimeUnit::Nanosecond
        )));
        assert!(ArgExtreme::supports_key(&DataType::Timestamp(
            TimeUnit::Nanosecond,
            Some("UTC".into())
        )));
        assert!(!ArgExtreme::supports_key(&DataType::Utf8));
        assert!(!ArgExtreme::supports_key(&DataType::Boolean));
    }

    /// One input row: key, group, whether the filter lets it through.
    type Row = (Option<i64>, usize, bool);

    const GROUPS: usize = 6;

    /// Row by row, as the `first_value(... ORDER BY key DESC/ASC NULLS LAST)` plan
    /// decides: the index of each group's winning row.
    fn reference(rows: &[Row], is_max: bool, filtered: bool) -> Vec<Option<usize>> {
        let mut best: Vec<Option<(Option<i64>, usize)>> = vec![None; GROUPS];
        for (i, &(k, g, pass)) in rows.iter().enumerate() {
            if filtered && !pass {
                continue;
            }
            let replace = match (best[g], k) {
                (None, _) => true,
                (Some((None, _)), Some(_)) => true,
                (Some((Some(b), _)), Some(k)) => {
                    if is_max {
                        k > b
                    } else {
                        k < b
                    }
                }
                _ => false,
            };
            if replace {
                best[g] = Some((k, i));
            }
        }
        best.into_iter().map(|b| b.map(|(_, i)| i)).collect()
    }

    /// The rows `first..` cut into batches of the given sizes (cycled), as the
    /// accumulator's inputs: values are `r{index}`.
    fn batches(
        rows: &[Row],
        first: usize,
        sizes: &[usize],
        views: bool,
        filtered: bool,
    ) -> Vec<(Vec<ArrayRef>, Vec<usize>, Option<BooleanArray>)> {
        let mut out = Vec::new();
        let mut start = 0;
        for size in sizes.iter().cycle() {
            if start >= rows.len() {
                break;
            }
            let end = (start + size).min(rows.len());
            let part = &rows[start..end];
            let names = (start..end).map(|i| format!("r{}", first + i));
            let values: ArrayRef = if views {
                Arc::new(StringViewArray::from_iter_values(names))
            } else {
                Arc::new(StringArray::from_iter_values(names))
            };
            let k = keys(&part.iter().map(|r| r.0).collect::<Vec<_>>());
            let groups = part.iter().map(|r| r.1).collect();
            let filter = filtered.then(|| BooleanArray::from_iter(part.iter().map(|r| Some(r.2))));
            out.push((vec![values, k], groups, filter));
            start = end;
        }
        out
    }

    fn expected(rows: &[Row], is_max: bool, filtered: bool) -> Vec<Option<String>> {
        reference(rows, is_max, filtered)
            .into_iter()
            .map(|i| i.map(|i| format!("r{i}")))
            .collect()
    }

    fn row() -> impl Strategy<Value = Row> {
        (
            prop::option::weighted(0.8, -4i64..4),
            0..GROUPS,
            prop::bool::weighted(0.8),
        )
    }

    proptest! {
        #[test]
        fn grouped_matches_row_by_row(
            rows in prop::collection::vec(row(), 0..150),
            sizes in prop::collection::vec(1usize..40, 1..6),
            cut in 0usize..150,
            first_n in 0usize..=GROUPS,
            is_max in any::<bool>(),
            filtered in any::<bool>(),
            views in any::<bool>(),
            slack in prop::sample::select(vec![0usize, 3, COMPACT_SLACK_ROWS]),
        ) {
            let value_type = if views { DataType::Utf8View } else { DataType::Utf8 };
            let new = || {
                let mut acc = ArgExtremeGroups::<Int64Type>::new(is_max, &value_type, &DataType::Int64);
                acc.slack_rows = slack;
                acc
            };
            let want = expected(&rows, is_max, filtered);

            // One accumulator over all rows, emitted in two steps.
            let mut acc = new();
            for (values, groups, filter) in batches(&rows, 0, &sizes, views, filtered) {
                acc.update_batch(&values, &groups, filter.as_ref(), GROUPS).unwrap();
            }
            let mut got = texts(&acc.evaluate(EmitTo::First(first_n)).unwrap());
            got.extend(emit_all(&mut acc));
            prop_assert!(got == want || (rows.is_empty() && got.is_empty()), "{:?}", got);

            // Two partial accumulators over the rows before and after `cut`, merged.
            let cut = cut.min(rows.len());
            let mut merged = new();
            for (first, part) in [(0, &rows[..cut]), (cut, &rows[cut..])] {
                let mut partial = new();
                for (values, groups, filter) in batches(part, first, &sizes, views, filtered) {
                    partial.update_batch(&values, &groups, filter.as_ref(), GROUPS).unwrap();
                }
                let state = partial.state(EmitTo::All).unwrap();
                let n = state[0].len();
                merged.merge_batch(&state, &(0..n).collect::<Vec<_>>(), GROUPS).unwrap();
            }
            let got = emit_all(&mut merged);
            prop_assert!(got == want || (rows.is_empty() && got.is_empty()), "{:?}", got);

            // Rows passed through as states (skipped partial aggregation), then merged.
            let mut skipped = new();
            for (values, groups, filter) in batches(&rows, 0, &sizes, views, filtered) {
                let state = skipped.convert_to_state(&values, filter.as_ref()).unwrap();
                skipped.merge_batch(&state, &groups, GROUPS).unwrap();
            }
            let got = emit_all(&mut skipped);
            prop_assert!(got == want || (rows.is_empty() && got.is_empty()), "{:?}", got);
        }

        #[test]
        fn ungrouped_matches_row_by_row(
            rows in prop::collection::vec(row(), 0..60),
            sizes in prop::collection::vec(1usize..20, 1..4),
            is_max in any::<bool>(),
        ) {
            let rows: Vec<Row> = rows.into_iter().map(|(k, _, _)| (k, 0, true)).collect();
            let want = expected(&rows, is_max, false)[0].clone();
            let mut acc =
                ArgExtremeAccumulator::<Int64Type>::new(is_max, &DataType::Utf8, &DataType::Int64).unwrap();
            for (values, _, _) in batches(&rows, 0, &sizes, false, false) {
                acc.update_batch(&values).unwrap();
            }
            prop_assert_eq!(acc.evaluate().unwrap(), ScalarValue::Utf8(want));
        }
    }
}
